// mydocker's own version, and the OCI runtime-spec version of the configs it writes.
export const VERSION = "0.1.0";
export const OCI_SPEC_VERSION = "1.2.0";

// probe: one attempt at one privileged operation, made from inside a container by
// test/e2e/escape.test.ts. Built static (test/e2e/probe.ts) so that it runs in any rootfs.
//
//   probe VERB [ARG...]
//
// Prints exactly one line and exits 0:
//   ok [DETAIL]     the kernel allowed it (and the probe undid it where it could: see each verb)
//   ERRNO           the call the verb is about failed, by its name (EPERM; strerrorname_np(3))
//   STEP:ERRNO      a verb of several steps: the step that failed (mknod:EPERM, open:EROFS)
// Bad usage: a message on stderr, exit 2.
//
// Every verb is harmless when it succeeds: the clock is set to the time it already has, a value
// is written back unchanged, a mount is undone, a module name that does not exist is removed.
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <arpa/inet.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <sys/ioctl.h>
#include <linux/magic.h>
#include <linux/perf_event.h>
#include <linux/sched.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/io.h>
#include <sys/klog.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define KEYCTL_JOIN_SESSION_KEYRING 1 // linux/keyctl.h (FSOPEN_CLOEXEC: sys/mount.h, glibc >= 2.36)

static int ok(const char *detail) {
  if (detail && *detail) printf("ok %s\n", detail);
  else printf("ok\n");
  return 0;
}

/** The errno of the failed call, by name; with `step` when the verb has several. */
static int fail(const char *step, int err) {
  const char *name = strerrorname_np(err);
  if (step) printf("%s:", step);
  if (name) printf("%s\n", name);
  else printf("E%d\n", err);
  return 0;
}

static int result(long rc) { return rc < 0 ? fail(NULL, errno) : ok(NULL); }

static int usage(const char *what) {
  fprintf(stderr, "probe: usage: %s\n", what);
  return 2;
}

// ---------------------------------------------------------------- what the process is

/** caps: the capability sets, NoNewPrivs and Seccomp of /proc/self/status on one line. */
static int v_caps(char **a) {
  (void)a;
  static const char *keys[] = {"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "NoNewPrivs", "Seccomp"};
  FILE *f = fopen("/proc/self/status", "r");
  if (!f) return fail("open", errno);
  char line[256], out[512] = "";
  while (fgets(line, sizeof line, f)) {
    char *colon = strchr(line, ':');
    if (!colon) continue;
    *colon = 0;
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
      if (strcmp(line, keys[i]) != 0) continue;
      char *v = colon + 1;
      v += strspn(v, " \t");
      v[strcspn(v, "\n")] = 0;
      snprintf(out + strlen(out), sizeof out - strlen(out), "%s%s=%s", *out ? " " : "", line, v);
    }
  }
  fclose(f);
  printf("%s\n", out);
  return 0;
}

/** ids: real and effective user and group. */
static int v_ids(char **a) {
  (void)a;
  printf("uid=%u euid=%u gid=%u egid=%u\n", getuid(), geteuid(), getgid(), getegid());
  return 0;
}

// ---------------------------------------------------------------- mounts

/** mount TYPE TARGET: a new filesystem of TYPE (source TYPE); unmounted again on success. */
static int v_mount(char **a) {
  if (mount(a[0], a[1], a[0], 0, NULL) < 0) return fail(NULL, errno);
  umount2(a[1], MNT_DETACH);
  return ok(NULL);
}

/** bind SRC TARGET: a bind mount; unmounted again on success. */
static int v_bind(char **a) {
  if (mount(a[0], a[1], NULL, MS_BIND, NULL) < 0) return fail(NULL, errno);
  umount2(a[1], MNT_DETACH);
  return ok(NULL);
}

/** fsopen TYPE: the new mount API's first step (fsopen(2)); nothing is mounted. */
static int v_fsopen(char **a) {
  long fd = syscall(SYS_fsopen, a[0], FSOPEN_CLOEXEC);
  if (fd < 0) return fail(NULL, errno);
  close(fd);
  return ok(NULL);
}

/** The per-mount flags of statvfs(3) as mount(2) flags, to keep them across a bind remount. */
static unsigned long kept_flags(unsigned long st) {
  unsigned long f = 0;
  if (st & ST_NOSUID) f |= MS_NOSUID;
  if (st & ST_NODEV) f |= MS_NODEV;
  if (st & ST_NOEXEC) f |= MS_NOEXEC;
  if (st & ST_NOATIME) f |= MS_NOATIME;
  if (st & ST_NODIRATIME) f |= MS_NODIRATIME;
  if (st & ST_RELATIME) f |= MS_RELATIME;
  return f;
}

/**
 * remount-rw PATH: make the mount at PATH writable (MS_REMOUNT|MS_BIND: this mount only, never
 * its superblock), keeping its other flags; made read-only again on success.
 */
static int v_remount_rw(char **a) {
  struct statvfs st;
  if (statvfs(a[0], &st) < 0) return fail("statvfs", errno);
  unsigned long kept = kept_flags(st.f_flag);
  if (mount(NULL, a[0], NULL, MS_REMOUNT | MS_BIND | kept, NULL) < 0) return fail(NULL, errno);
  if (st.f_flag & ST_RDONLY) mount(NULL, a[0], NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | kept, NULL);
  return ok(NULL);
}

/** umount PATH: umount2(PATH, 0); a proc filesystem is mounted again on success. */
static int v_umount(char **a) {
  struct statfs st;
  if (statfs(a[0], &st) < 0) return fail("statfs", errno);
  if (umount2(a[0], 0) < 0) return fail(NULL, errno);
  if (st.f_type == PROC_SUPER_MAGIC) mount("proc", a[0], "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
  return ok(NULL);
}

// ---------------------------------------------------------------- files and devices

/** mknod-open c|b MAJOR MINOR PATH: mknod, then open O_RDONLY (nothing read); the node is removed. */
static int v_mknod_open(char **a) {
  mode_t type = strcmp(a[0], "b") == 0 ? S_IFBLK : strcmp(a[0], "c") == 0 ? S_IFCHR : 0;
  if (!type) return usage("mknod-open c|b MAJOR MINOR PATH");
  if (mknod(a[3], type | 0600, makedev(atoi(a[1]), atoi(a[2]))) < 0) return fail("mknod", errno);
  int fd = open(a[3], O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  int err = errno;
  unlink(a[3]);
  if (fd < 0) return fail("open", err);
  close(fd);
  return ok(NULL);
}

/** open PATH r|w|rw: open(2) only; nothing is read or written. */
static int v_open(char **a) {
  int mode = strcmp(a[1], "r") == 0 ? O_RDONLY : strcmp(a[1], "w") == 0 ? O_WRONLY : strcmp(a[1], "rw") == 0 ? O_RDWR : -1;
  if (mode < 0) return usage("open PATH r|w|rw");
  int fd = open(a[0], mode | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) return fail(NULL, errno);
  close(fd);
  return ok(NULL);
}

/** read FILE N: reads at most N bytes; "ok COUNT". */
static int v_read(char **a) {
  char buf[4096];
  size_t n = (size_t)atoi(a[1]);
  if (n > sizeof buf) n = sizeof buf;
  int fd = open(a[0], O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) return fail("open", errno);
  ssize_t got = read(fd, buf, n);
  int err = errno;
  close(fd);
  if (got < 0) return fail("read", err);
  char detail[32];
  snprintf(detail, sizeof detail, "%zd", got);
  return ok(detail);
}

/** write-back FILE: reads the value, then writes the same bytes back (a sysctl keeps its value). */
static int v_write_back(char **a) {
  char buf[4096];
  int fd = open(a[0], O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail("read", errno);
  ssize_t n = read(fd, buf, sizeof buf);
  int err = errno;
  close(fd);
  if (n < 0) return fail("read", err);
  fd = open(a[0], O_WRONLY | O_CLOEXEC);
  if (fd < 0) return fail("open", errno);
  ssize_t w = write(fd, buf, (size_t)n);
  err = errno;
  close(fd);
  if (w < 0) return fail("write", err);
  return ok(NULL);
}

/** list DIR: "ok COUNT" of its entries other than . and .. */
static int v_list(char **a) {
  DIR *d = opendir(a[0]);
  if (!d) return fail(NULL, errno);
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)))
    if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) n++;
  closedir(d);
  char detail[32];
  snprintf(detail, sizeof detail, "%d", n);
  return ok(detail);
}

/** mkdir PATH: removed again on success. */
static int v_mkdir(char **a) {
  if (mkdir(a[0], 0700) < 0) return fail(NULL, errno);
  rmdir(a[0]);
  return ok(NULL);
}

/** chown PATH UID GID */
static int v_chown(char **a) { return result(chown(a[0], (uid_t)atoi(a[1]), (gid_t)atoi(a[2]))); }

/**
 * open-by-handle: open_by_handle_at(2) on "/" with a made-up handle (inode 0), the call of the
 * "shocker" escape. Such a handle names nothing: past the capability check the kernel says ESTALE.
 */
static int v_open_by_handle(char **a) {
  (void)a;
  int mount_fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (mount_fd < 0) return fail("open", errno);
  struct {
    struct file_handle h;
    unsigned char bytes[8];
  } fh = {.h = {.handle_bytes = 8, .handle_type = 1 /* FILEID_INO32_GEN */}};
  int fd = open_by_handle_at(mount_fd, &fh.h, O_RDONLY | O_CLOEXEC);
  int err = errno;
  close(mount_fd);
  if (fd < 0) return fail(NULL, err);
  close(fd);
  return ok(NULL);
}

// ---------------------------------------------------------------- namespaces

static const struct {
  const char *name;
  int flag;
} NS[] = {
    {"user", CLONE_NEWUSER}, {"mnt", CLONE_NEWNS}, {"net", CLONE_NEWNET}, {"pid", CLONE_NEWPID},
    {"uts", CLONE_NEWUTS},   {"ipc", CLONE_NEWIPC}, {"cgroup", CLONE_NEWCGROUP},
};

/** unshare FLAG[,FLAG...]: user, mnt, net, pid, uts, ipc, cgroup. The process exits right after. */
static int v_unshare(char **a) {
  int flags = 0;
  for (char *tok = strtok(a[0], ","); tok; tok = strtok(NULL, ",")) {
    size_t i;
    for (i = 0; i < sizeof NS / sizeof *NS && strcmp(NS[i].name, tok) != 0; i++) {}
    if (i == sizeof NS / sizeof *NS) return usage("unshare user|mnt|net|pid|uts|ipc|cgroup[,...]");
    flags |= NS[i].flag;
  }
  return result(unshare(flags));
}

/** setns PATH: join the namespace of an ns file (any type). */
static int v_setns(char **a) {
  int fd = open(a[0], O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail("open", errno);
  int rc = setns(fd, 0);
  int err = errno;
  close(fd);
  return rc < 0 ? fail(NULL, err) : ok(NULL);
}

/** sethostname NAME (of the container's UTS namespace) */
static int v_sethostname(char **a) { return result(sethostname(a[0], strlen(a[0]))); }

// ---------------------------------------------------------------- the kernel's global state

/** init-module: init_module(2) of an empty image; the kernel refuses it (ENOEXEC) past the capability check. */
static int v_init_module(char **a) {
  (void)a;
  static char image[64];
  return result(syscall(SYS_init_module, image, 0UL, ""));
}

/** delete-module: delete_module(2) of a module name that does not exist (ENOENT past the check). */
static int v_delete_module(char **a) {
  (void)a;
  return result(syscall(SYS_delete_module, "mydocker_probe_no_such_module", O_NONBLOCK));
}

/** settimeofday: sets the clock to the time just read. */
static int v_settimeofday(char **a) {
  (void)a;
  struct timeval tv;
  gettimeofday(&tv, NULL);
  return result(settimeofday(&tv, NULL));
}

/** clock-settime: CLOCK_REALTIME set to the time just read. */
static int v_clock_settime(char **a) {
  (void)a;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return result(clock_settime(CLOCK_REALTIME, &ts));
}

/** keyctl: KEYCTL_JOIN_SESSION_KEYRING with no name: a new anonymous session keyring, gone at exit. */
static int v_keyctl(char **a) {
  (void)a;
  return result(syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, NULL));
}

/** bpf: BPF_MAP_CREATE of a one-entry array map, closed at once. */
static int v_bpf(char **a) {
  (void)a;
  union bpf_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.map_type = BPF_MAP_TYPE_ARRAY;
  attr.key_size = 4;
  attr.value_size = 4;
  attr.max_entries = 1;
  long fd = syscall(SYS_bpf, BPF_MAP_CREATE, &attr, sizeof attr);
  if (fd < 0) return fail(NULL, errno);
  close(fd);
  return ok(NULL);
}

/** perf: perf_event_open(2) of a disabled software clock counting this process only. */
static int v_perf(char **a) {
  (void)a;
  struct perf_event_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.size = sizeof attr;
  attr.type = PERF_TYPE_SOFTWARE;
  attr.config = PERF_COUNT_SW_CPU_CLOCK;
  attr.disabled = 1;
  attr.exclude_kernel = 1;
  attr.exclude_hv = 1;
  long fd = syscall(SYS_perf_event_open, &attr, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);
  if (fd < 0) return fail(NULL, errno);
  close(fd);
  return ok(NULL);
}

/** ioperm: gives up access to port 0x80 (turn_on 0), which the process never had. */
static int v_ioperm(char **a) {
  (void)a;
  return result(ioperm(0x80, 1, 0));
}

/** syslog: SYSLOG_ACTION_SIZE_BUFFER, the size of the kernel's log buffer (nothing is read). */
static int v_syslog(char **a) {
  (void)a;
  return result(klogctl(10, NULL, 0));
}

// ---------------------------------------------------------------- processes

/**
 * ptrace PID [UID]: PTRACE_SEIZE (the tracee is not stopped; exiting detaches), after dropping to
 * UID (groups cleared, gid = uid) when given.
 */
static int v_ptrace(char **a) {
  if (a[1]) {
    uid_t uid = (uid_t)atoi(a[1]);
    if (setgroups(0, NULL) < 0) return fail("setgroups", errno);
    if (setresgid(uid, uid, uid) < 0) return fail("setresgid", errno);
    if (setresuid(uid, uid, uid) < 0) return fail("setresuid", errno);
  }
  return result(ptrace(PTRACE_SEIZE, atoi(a[0]), NULL, NULL));
}

/** clone3: a child that exits at once, made with clone3(2) (glibc 2.36's fork uses clone). */
static int v_clone3(char **a) {
  (void)a;
  struct clone_args args;
  memset(&args, 0, sizeof args);
  args.exit_signal = SIGCHLD;
  long pid = syscall(SYS_clone3, &args, sizeof args);
  if (pid < 0) return fail(NULL, errno);
  if (pid == 0) _exit(0);
  waitpid((pid_t)pid, NULL, 0);
  return ok(NULL);
}

static void *nothing(void *arg) { return arg; }

/** thread: pthread_create and join (glibc tries clone3 and falls back to clone on ENOSYS). */
static int v_thread(char **a) {
  (void)a;
  pthread_t t;
  int rc = pthread_create(&t, NULL, nothing, NULL);
  if (rc != 0) return fail(NULL, rc);
  pthread_join(t, NULL);
  return ok(NULL);
}

/**
 * fork-until-fail MAX: forks children that wait, until fork fails or MAX are alive; then kills and
 * reaps them all. Prints "ERRNO COUNT" (e.g. "EAGAIN 18") or "ok MAX".
 */
static int v_fork_until_fail(char **a) {
  int max = atoi(a[0]);
  if (max <= 0 || max > 10000) return usage("fork-until-fail MAX (1..10000)");
  pid_t *kids = calloc((size_t)max, sizeof *kids);
  int n = 0, err = 0;
  while (n < max) {
    pid_t pid = fork();
    if (pid < 0) {
      err = errno;
      break;
    }
    if (pid == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      for (;;) pause();
    }
    kids[n++] = pid;
  }
  for (int i = 0; i < n; i++) kill(kids[i], SIGKILL);
  for (int i = 0; i < n; i++) waitpid(kids[i], NULL, 0);
  free(kids);
  if (err) {
    const char *name = strerrorname_np(err);
    printf("%s %d\n", name ? name : "E?", n);
  } else {
    printf("ok %d\n", n);
  }
  return 0;
}

// ---------------------------------------------------------------- network

/** bind-port PORT: a TCP socket bound to 127.0.0.1:PORT (no listen), closed at once. */
static int v_bind_port(char **a) {
  int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0) return fail("socket", errno);
  struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(a[0])), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  int rc = bind(s, (struct sockaddr *)&sin, sizeof sin);
  int err = errno;
  close(s);
  return rc < 0 ? fail(NULL, err) : ok(NULL);
}

/** ping-socket: socket(AF_INET, SOCK_RAW, IPPROTO_ICMP), which needs CAP_NET_RAW; nothing is sent. */
static int v_ping_socket(char **a) {
  (void)a;
  int s = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMP);
  if (s < 0) return fail(NULL, errno);
  close(s);
  return ok(NULL);
}

/**
 * udp-echo PORT: binds UDP PORT on every address, waits (at most 20 s) for one datagram and sends
 * it back to its sender, then prints "ok " and what it got. For the network tests' published
 * UDP ports (busybox's nc has no -u).
 */
static int v_udp_echo(char **a) {
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return fail("socket", errno);
  struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(a[0])), .sin_addr.s_addr = htonl(INADDR_ANY)};
  if (bind(s, (struct sockaddr *)&sin, sizeof sin) < 0) return fail("bind", errno);
  struct timeval tv = {.tv_sec = 20};
  setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  char buf[512];
  struct sockaddr_in from;
  socklen_t len = sizeof from;
  ssize_t n = recvfrom(s, buf, sizeof buf - 1, 0, (struct sockaddr *)&from, &len);
  if (n < 0) return fail("recvfrom", errno);
  sendto(s, buf, (size_t)n, 0, (struct sockaddr *)&from, len);
  buf[n] = 0;
  close(s);
  return ok(buf);
}

static uint16_t ip_checksum(const void *data, size_t len) {
  const uint16_t *w = data;
  uint32_t sum = 0;
  for (; len > 1; len -= 2) sum += *w++;
  if (len) sum += *(const uint8_t *)w;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return (uint16_t)~sum;
}

/**
 * udp-raw IFACE MAC DST_IP PORT TEXT: one UDP datagram to DST_IP:PORT built by hand and sent as an
 * Ethernet frame to MAC (the gateway's) through an AF_PACKET socket (needs CAP_NET_RAW, which
 * docker's defaults keep) — the way a container could address the host's 127.0.0.1 past its
 * own routing table (CVE-2020-8558). Prints "ok" once the frame is sent.
 */
static int v_udp_raw(char **a) {
  int s = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, htons(ETH_P_IP));
  if (s < 0) return fail("socket", errno);
  struct ifreq ifr = {0};
  strncpy(ifr.ifr_name, a[0], IFNAMSIZ - 1);
  if (ioctl(s, SIOCGIFADDR, &ifr) < 0) return fail("SIOCGIFADDR", errno);
  struct in_addr src = ((struct sockaddr_in *)&ifr.ifr_addr)->sin_addr;
  size_t text = strlen(a[4]);
  uint8_t pkt[1500] = {0};
  struct iphdr *ip = (struct iphdr *)pkt;
  struct udphdr *udp = (struct udphdr *)(pkt + sizeof *ip);
  memcpy(pkt + sizeof *ip + sizeof *udp, a[4], text);
  size_t total = sizeof *ip + sizeof *udp + text;
  ip->version = 4;
  ip->ihl = 5;
  ip->ttl = 64;
  ip->protocol = IPPROTO_UDP;
  ip->tot_len = htons((uint16_t)total);
  ip->saddr = src.s_addr;
  if (inet_pton(AF_INET, a[2], &ip->daddr) != 1) return usage("udp-raw: bad DST_IP");
  ip->check = ip_checksum(ip, sizeof *ip);
  udp->source = htons(40000);
  udp->dest = htons((uint16_t)atoi(a[3]));
  udp->len = htons((uint16_t)(sizeof *udp + text)); // checksum 0: none (allowed for IPv4)
  struct sockaddr_ll to = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_IP), .sll_ifindex = (int)if_nametoindex(a[0]), .sll_halen = 6};
  unsigned m[6];
  if (sscanf(a[1], "%x:%x:%x:%x:%x:%x", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5]) != 6) return usage("udp-raw: bad MAC");
  for (int i = 0; i < 6; i++) to.sll_addr[i] = (uint8_t)m[i];
  if (sendto(s, pkt, total, 0, (struct sockaddr *)&to, sizeof to) < 0) return fail("sendto", errno);
  close(s);
  return ok(NULL);
}

// ---------------------------------------------------------------- dispatch

static const struct {
  const char *verb;
  int min_args, max_args;
  int (*run)(char **args);
  const char *usage;
} VERBS[] = {
    {"caps", 0, 0, v_caps, "caps"},
    {"ids", 0, 0, v_ids, "ids"},
    {"mount", 2, 2, v_mount, "mount TYPE TARGET"},
    {"bind", 2, 2, v_bind, "bind SRC TARGET"},
    {"fsopen", 1, 1, v_fsopen, "fsopen TYPE"},
    {"remount-rw", 1, 1, v_remount_rw, "remount-rw PATH"},
    {"umount", 1, 1, v_umount, "umount PATH"},
    {"mknod-open", 4, 4, v_mknod_open, "mknod-open c|b MAJOR MINOR PATH"},
    {"open", 2, 2, v_open, "open PATH r|w|rw"},
    {"read", 2, 2, v_read, "read FILE N"},
    {"write-back", 1, 1, v_write_back, "write-back FILE"},
    {"list", 1, 1, v_list, "list DIR"},
    {"mkdir", 1, 1, v_mkdir, "mkdir PATH"},
    {"chown", 3, 3, v_chown, "chown PATH UID GID"},
    {"open-by-handle", 0, 0, v_open_by_handle, "open-by-handle"},
    {"unshare", 1, 1, v_unshare, "unshare FLAG[,FLAG...]"},
    {"setns", 1, 1, v_setns, "setns PATH"},
    {"sethostname", 1, 1, v_sethostname, "sethostname NAME"},
    {"init-module", 0, 0, v_init_module, "init-module"},
    {"delete-module", 0, 0, v_delete_module, "delete-module"},
    {"settimeofday", 0, 0, v_settimeofday, "settimeofday"},
    {"clock-settime", 0, 0, v_clock_settime, "clock-settime"},
    {"keyctl", 0, 0, v_keyctl, "keyctl"},
    {"bpf", 0, 0, v_bpf, "bpf"},
    {"perf", 0, 0, v_perf, "perf"},
    {"ioperm", 0, 0, v_ioperm, "ioperm"},
    {"syslog", 0, 0, v_syslog, "syslog"},
    {"ptrace", 1, 2, v_ptrace, "ptrace PID [UID]"},
    {"clone3", 0, 0, v_clone3, "clone3"},
    {"thread", 0, 0, v_thread, "thread"},
    {"fork-until-fail", 1, 1, v_fork_until_fail, "fork-until-fail MAX"},
    {"bind-port", 1, 1, v_bind_port, "bind-port PORT"},
    {"ping-socket", 0, 0, v_ping_socket, "ping-socket"},
    {"udp-echo", 1, 1, v_udp_echo, "udp-echo PORT"},
    {"udp-raw", 5, 5, v_udp_raw, "udp-raw IFACE MAC DST_IP PORT TEXT"},
};

int main(int argc, char **argv) {
  if (argc < 2) return usage("probe VERB [ARG...]");
  for (size_t i = 0; i < sizeof VERBS / sizeof *VERBS; i++) {
    if (strcmp(argv[1], VERBS[i].verb) != 0) continue;
    int n = argc - 2;
    if (n < VERBS[i].min_args || n > VERBS[i].max_args) return usage(VERBS[i].usage);
    char *args[5] = {NULL, NULL, NULL, NULL, NULL};
    for (int j = 0; j < n; j++) args[j] = argv[j + 2];
    return VERBS[i].run(args);
  }
  return usage("probe VERB [ARG...]: unknown verb");
}

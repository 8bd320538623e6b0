#ifndef WAYSTATION_CSHIM_H
#define WAYSTATION_CSHIM_H

#include <sys/types.h>
#include <netdb.h>

/* SO_PEERCRED of a connected Unix socket: struct ucred needs _GNU_SOURCE, which Swift's Glibc
 * module does not define. Returns 0 on success, -1 with errno set. */
int ws_peer_credentials(int fd, pid_t *pid, uid_t *uid, gid_t *gid);

/* SO_PEERGROUPS of a connected Unix socket: the peer's supplementary groups as the kernel saw them
 * when it connected. Returns how many were written to `groups`, -1 with errno set on failure, or -2
 * when `capacity` is too small. */
int ws_peer_groups(int fd, gid_t *groups, int capacity);

/* Whether `uid` (whose primary group is `primary_gid` and name `user`) is a member of `gid`,
 * through getgrouplist(3). */
int ws_user_in_group(const char *user, gid_t primary_gid, gid_t gid);

/* accept4(2) with SOCK_CLOEXEC | SOCK_NONBLOCK (a GNU extension Swift's Glibc module hides). */
int ws_accept_nonblocking(int fd);

/* pipe2(2) with O_CLOEXEC | O_NONBLOCK. */
int ws_pipe_nonblocking(int fds[2]);

/* pthread_setname_np(3) for the calling thread; `name` at most 15 bytes. Returns 0 or an errno. */
int ws_set_thread_name(const char *name);

/* mallopt(M_ARENA_MAX, n): at most `n` malloc arenas (glibc makes one per thread that allocates
 * concurrently, up to 8 per core). Returns 1 on success. */
int ws_malloc_arena_max(int n);

/* malloc_trim(0): gives free heap memory back to the system. Returns 1 if some was released. */
int ws_malloc_trim(void);

/* poll(2)'s POLLRDHUP: the peer shut down its writing side. */
extern const short WS_POLLRDHUP;


/* Whether the kernel says the system clock is synchronised (NTP or PTP discipline it: adjtimex(2)
 * status without STA_UNSYNC, as systemd-timesyncd and chrony leave it). 1 synchronised, 0 not,
 * -1 when the kernel cannot be asked (errno set). */
int ws_clock_synchronised(void);

/* A name lookup (getaddrinfo) on a thread of its own, so a caller can give up on it at a deadline:
 * a silent name server blocks getaddrinfo for its resolv.conf timeout per server. */
struct ws_lookup;

/* Starts looking up `host`:`port` (SOCK_STREAM, any family). NULL when no thread could be made
 * (errno set). The caller polls ws_lookup_fd for POLLIN and must call ws_lookup_release once. */
struct ws_lookup *ws_lookup_start(const char *host, const char *port);

/* Readable once the lookup has finished. */
int ws_lookup_fd(const struct ws_lookup *lookup);

/* After the fd is readable: getaddrinfo's result code; on 0, `*result` is the list (the caller
 * frees it with freeaddrinfo). */
int ws_lookup_result(struct ws_lookup *lookup, struct addrinfo **result);

/* The caller is done with the lookup (finished or abandoned); the thread frees it when it ends. */
void ws_lookup_release(struct ws_lookup *lookup);
/* The journal's native protocol for an entry too large for one datagram: `size` bytes of `data`
 * written to a sealed memfd, passed with SCM_RIGHTS in an empty datagram to the Unix datagram socket
 * `path` (nonblocking). Returns 0, or -1 with errno set. */
int ws_journal_send_memfd(int sock, const char *path, const void *data, size_t size);

/* For tests: receives one datagram on `sock`; a passed descriptor is stored in `*fd` (else -1).
 * Returns the payload's length, or -1 with errno set. */
long ws_recv_with_fd(int sock, void *buffer, size_t capacity, int *fd);

#endif

#define _GNU_SOURCE
#include <malloc.h>
#include "cshim.h"

#include <errno.h>
#include <grp.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <fcntl.h>
#include <unistd.h>
#include <poll.h>
#include <pthread.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/timex.h>
#include <sys/mman.h>
#include <sys/un.h>

int ws_peer_credentials(int fd, pid_t *pid, uid_t *uid, gid_t *gid) {
    struct ucred cred;
    socklen_t len = sizeof(cred);
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
        return -1;
    }
    *pid = cred.pid;
    *uid = cred.uid;
    *gid = cred.gid;
    return 0;
}

int ws_peer_groups(int fd, gid_t *groups, int capacity) {
    socklen_t len = (socklen_t)(sizeof(gid_t) * (size_t)capacity);
    if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) != 0) {
        if (errno == ERANGE) {
            return -2;
        }
        return -1;
    }
    return (int)(len / sizeof(gid_t));
}

int ws_user_in_group(const char *user, gid_t primary_gid, gid_t gid) {
    if (primary_gid == gid) {
        return 1;
    }
    int n = 64;
    for (int attempt = 0; attempt < 4; attempt++) {
        gid_t *groups = malloc(sizeof(gid_t) * (size_t)n);
        if (groups == NULL) {
            return 0;
        }
        int count = n;
        if (getgrouplist(user, primary_gid, groups, &count) >= 0) {
            int found = 0;
            for (int i = 0; i < count; i++) {
                if (groups[i] == gid) {
                    found = 1;
                }
            }
            free(groups);
            return found;
        }
        free(groups);
        n = count > n ? count : n * 4;
    }
    return 0;
}

int ws_accept_nonblocking(int fd) {
    return accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
}

int ws_pipe_nonblocking(int fds[2]) {
    return pipe2(fds, O_CLOEXEC | O_NONBLOCK);
}

const short WS_POLLRDHUP = POLLRDHUP;

int ws_set_thread_name(const char *name) {
    return pthread_setname_np(pthread_self(), name);
}

int ws_malloc_arena_max(int n) {
    return mallopt(M_ARENA_MAX, n);
}

int ws_malloc_trim(void) {
    return malloc_trim(0);
}

int ws_clock_synchronised(void) {
    struct timex t;
    memset(&t, 0, sizeof(t));
    int state = adjtimex(&t);
    if (state < 0) {
        return -1;
    }
    return (t.status & STA_UNSYNC) || state == TIME_ERROR ? 0 : 1;
}

struct ws_lookup {
    pthread_mutex_t lock;
    int refs;
    int fd;
    int rc;
    char *host;
    char *port;
    struct addrinfo *result;
};

static void ws_lookup_unref(struct ws_lookup *l) {
    pthread_mutex_lock(&l->lock);
    int left = --l->refs;
    pthread_mutex_unlock(&l->lock);
    if (left > 0) {
        return;
    }
    if (l->result) {
        freeaddrinfo(l->result);
    }
    close(l->fd);
    free(l->host);
    free(l->port);
    pthread_mutex_destroy(&l->lock);
    free(l);
}

static void *ws_lookup_thread(void *arg) {
    struct ws_lookup *l = arg;
    struct addrinfo hints;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    struct addrinfo *list = NULL;
    int rc = getaddrinfo(l->host, l->port, &hints, &list);
    pthread_mutex_lock(&l->lock);
    l->rc = rc;
    l->result = rc == 0 ? list : NULL;
    pthread_mutex_unlock(&l->lock);
    uint64_t one = 1;
    ssize_t written = write(l->fd, &one, sizeof(one));
    (void)written;
    ws_lookup_unref(l);
    return NULL;
}

struct ws_lookup *ws_lookup_start(const char *host, const char *port) {
    struct ws_lookup *l = calloc(1, sizeof(*l));
    if (!l) {
        return NULL;
    }
    l->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    l->host = strdup(host);
    l->port = strdup(port);
    if (l->fd < 0 || !l->host || !l->port) {
        int saved = errno;
        if (l->fd >= 0) {
            close(l->fd);
        }
        free(l->host);
        free(l->port);
        free(l);
        errno = saved;
        return NULL;
    }
    pthread_mutex_init(&l->lock, NULL);
    l->refs = 2;
    l->rc = EAI_AGAIN;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 256 << 10);
    pthread_t thread;
    int err = pthread_create(&thread, &attr, ws_lookup_thread, l);
    pthread_attr_destroy(&attr);
    if (err != 0) {
        l->refs = 1;
        ws_lookup_unref(l);
        errno = err;
        return NULL;
    }
    return l;
}

int ws_lookup_fd(const struct ws_lookup *lookup) { return lookup->fd; }

int ws_lookup_result(struct ws_lookup *lookup, struct addrinfo **result) {
    pthread_mutex_lock(&lookup->lock);
    int rc = lookup->rc;
    *result = lookup->result;
    lookup->result = NULL;
    pthread_mutex_unlock(&lookup->lock);
    return rc;
}

void ws_lookup_release(struct ws_lookup *lookup) { ws_lookup_unref(lookup); }
int ws_journal_send_memfd(int sock, const char *path, const void *data, size_t size) {
    struct sockaddr_un addr;
    memset(&addr, 0, sizeof(addr));
    addr.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(addr.sun_path)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    strcpy(addr.sun_path, path);
    int fd = memfd_create("waystation-journal", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0) {
        return -1;
    }
    const char *p = data;
    size_t left = size;
    while (left > 0) {
        ssize_t n = write(fd, p, left);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            int saved = errno;
            close(fd);
            errno = saved;
            return -1;
        }
        p += n;
        left -= (size_t)n;
    }
    /* journald takes a memfd from an unprivileged sender only when it is sealed. */
    if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    union {
        struct cmsghdr header;
        char space[CMSG_SPACE(sizeof(int))];
    } control;
    memset(&control, 0, sizeof(control));
    struct msghdr msg;
    memset(&msg, 0, sizeof(msg));
    msg.msg_name = &addr;
    msg.msg_namelen = sizeof(addr);
    msg.msg_control = control.space;
    msg.msg_controllen = sizeof(control.space);
    struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
    ssize_t sent = sendmsg(sock, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    int saved = errno;
    close(fd);
    errno = saved;
    return sent < 0 ? -1 : 0;
}

long ws_recv_with_fd(int sock, void *buffer, size_t capacity, int *fd) {
    union {
        struct cmsghdr header;
        char space[CMSG_SPACE(sizeof(int))];
    } control;
    struct iovec iov = {.iov_base = buffer, .iov_len = capacity};
    struct msghdr msg;
    memset(&msg, 0, sizeof(msg));
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.space;
    msg.msg_controllen = sizeof(control.space);
    *fd = -1;
    ssize_t n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
    if (n < 0) {
        return -1;
    }
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
            memcpy(fd, CMSG_DATA(c), sizeof(int));
        }
    }
    return (long)n;
}

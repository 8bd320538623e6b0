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

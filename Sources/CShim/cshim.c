#define _GNU_SOURCE
#include "cshim.h"

#include <errno.h>
#include <grp.h>
#include <stdlib.h>
#include <sys/socket.h>

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

#ifndef WAYSTATION_CSHIM_H
#define WAYSTATION_CSHIM_H

#include <sys/types.h>

/* SO_PEERCRED of a connected Unix socket: struct ucred needs _GNU_SOURCE, which Swift's Glibc
 * module does not define. Returns 0 on success, -1 with errno set. */
int ws_peer_credentials(int fd, pid_t *pid, uid_t *uid, gid_t *gid);

/* Whether `uid` (whose primary group is `primary_gid` and name `user`) is a member of `gid`,
 * through getgrouplist(3). */
int ws_user_in_group(const char *user, gid_t primary_gid, gid_t gid);

#endif

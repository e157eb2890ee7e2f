/* backup.h -- `patrold --data DIR backup --out DIR2` (server/backup.c). */
#ifndef SRV_BACKUP_H
#define SRV_BACKUP_H

/* The command: argv holds what follows "backup". Returns the exit status
 * (0 copied and checked, 1 failed: DIR2 removed, 2 usage). */
int backup_main(const char *data, int argc, char **argv);

#endif

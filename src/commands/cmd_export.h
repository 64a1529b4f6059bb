/* cmd_export.h: `photon export` (see cmd_export.c; the file formats are in export.h). */
#ifndef PHOTON_CMD_EXPORT_H
#define PHOTON_CMD_EXPORT_H

int cmd_export(int argc, char **argv);

#endif

/* backend_kinds.h: the two enums that pick how a rank computes, with their names. The deck
 * parser (run.device, run.precision), `photon train --help`, doc/deck.md and the banner all read
 * these tables (defined in backend.c); the CUDA model (kernels/gpt_cuda.h) takes PrecisionKind
 * as it is. Kept apart from backend.h so that the CUDA kernels and the deck need no MPI. */
#ifndef PHOTON_BACKEND_KINDS_H
#define PHOTON_BACKEND_KINDS_H

/* Where a rank's training steps run (backend.c's registry maps each to its table). */
typedef enum { DEVICE_CPU, DEVICE_CUDA } DeviceKind;
/* Arithmetic of the steps: fp32 everywhere, or bf16 products with fp32 master weights (cuda). */
typedef enum { PRECISION_FP32, PRECISION_BF16 } PrecisionKind;

/* NULL-terminated, index = the enum's value. */
extern const char *const device_names[];
extern const char *const precision_names[];

#endif

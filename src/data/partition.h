/* partition.h: which documents are held out for validation, and which silo gets the rest.
 *
 * Validation comes first and does not depend on the partition: the same seed holds out the
 * same documents whatever --partition and --silos say, so runs with different partitions are
 * evaluated on the same text. Then the training documents are dealt to silos:
 *   iid            documents shuffled, each to the silo with the fewest tokens so far;
 *   by-source      whole sources, largest first, each to the silo with the fewest tokens;
 *   dirichlet:A    silo s draws its mix of sources p_s ~ Dirichlet(A, ..., A); each source's
 *                  documents (shuffled) are dealt to silos in proportion to p_s[source], by
 *                  tokens; small A gives each silo few sources, large A the global mix. */
#ifndef PHOTON_PARTITION_H
#define PHOTON_PARTITION_H

#include <stddef.h>
#include <stdint.h>

#define PARTITION_VALIDATION (-1)   // silo index of a held-out document
#define PARTITION_UNASSIGNED (-2)   // a training document not yet dealt to a silo

typedef enum { PARTITION_IID, PARTITION_BY_SOURCE, PARTITION_DIRICHLET } PartitionKind;

typedef struct {
    PartitionKind kind;
    double alpha;       // dirichlet only
} Partition;

// "iid", "by-source" or "dirichlet:ALPHA" (ALPHA > 0). 0 / -1 with a message.
int partition_parse(const char *spec, Partition *p, char *err, size_t errlen);
// The canonical spelling, e.g. "dirichlet:0.5", into buf.
void partition_format(const Partition *p, char *buf, size_t n);

// Holds out round(fraction * n) documents of every source (at least one when fraction > 0),
// chosen by the seed: silo[i] = PARTITION_VALIDATION for them, PARTITION_UNASSIGNED for the
// others. Error (-1) when a source would have no training document left.
int partition_validation(const int *doc_source, int num_docs, char *const *source_names,
                         int num_sources, double fraction, unsigned long seed, int *silo,
                         char *err, size_t errlen);

// Deals the PARTITION_UNASSIGNED documents to silos 0..num_silos-1; every silo gets at least
// one document. doc_tokens are the tokens each document adds to a silo's stream.
int partition_assign(const Partition *p, const int *doc_source, const int64_t *doc_tokens,
                     int num_docs, int num_sources, int num_silos, unsigned long seed, int *silo,
                     char *err, size_t errlen);

#endif

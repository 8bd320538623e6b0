// A C face for toml++ (Debian's libtomlplusplus): parses one TOML document and hands back its tree
// as a flat list of items in pre-order, so Swift can build its own values without recursion.
#ifndef CTOML_H
#define CTOML_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    CTOML_TABLE = 1,
    CTOML_ARRAY = 2,
    CTOML_STRING = 3,
    CTOML_INTEGER = 4,
    CTOML_FLOAT = 5,
    CTOML_BOOL = 6,
    CTOML_DATETIME = 7,        // date and time with an offset
    CTOML_DATETIME_LOCAL = 8,  // date and time without an offset
    CTOML_DATE_LOCAL = 9,
    CTOML_TIME_LOCAL = 10,
} ctoml_kind;

/// One value. A table's `count` entries follow it (each with its key), then the table's next
/// sibling; an array's `count` elements likewise (without keys). The first item is the root table.
typedef struct {
    int32_t kind;
    /// The 1-based line the value starts on (a table: its header), 0 when unknown.
    uint32_t line;
    /// The 1-based line of the key naming this value in its table, 0 for array elements and the root.
    uint32_t key_line;
    uint32_t reserved;
    /// The key (in the pool), for an entry of a table.
    size_t key_offset, key_length;
    /// A string's UTF-8 bytes, or a date/time in RFC 3339 form (in the pool).
    size_t text_offset, text_length;
    /// An integer, or a boolean as 0/1.
    int64_t integer;
    double number;
    /// A table's entries or an array's elements.
    size_t count;
} ctoml_item;

typedef struct ctoml_document ctoml_document;

/// Parses `length` bytes of UTF-8 TOML. Documents nested deeper than `max_depth` (tables, arrays,
/// dotted keys and table headers together) are refused before toml++ builds them. Returns NULL only
/// when memory ran out; otherwise check `ctoml_failed`.
ctoml_document *ctoml_parse(const char *bytes, size_t length, uint32_t max_depth);

/// Non-zero when the document was refused.
int ctoml_failed(const ctoml_document *document);
/// What was wrong (NUL-terminated UTF-8), and where (1-based; 0 when unknown).
const char *ctoml_error(const ctoml_document *document);
uint32_t ctoml_error_line(const ctoml_document *document);
uint32_t ctoml_error_column(const ctoml_document *document);

size_t ctoml_item_count(const ctoml_document *document);
const ctoml_item *ctoml_items(const ctoml_document *document);
const char *ctoml_pool(const ctoml_document *document);

void ctoml_free(ctoml_document *document);

#ifdef __cplusplus
}
#endif

#endif

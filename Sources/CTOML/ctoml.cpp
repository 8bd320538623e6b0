// toml++ behind a C interface (see include/ctoml.h). No exception leaves this file.
#include "ctoml.h"

#include <toml++/toml.h>

#include <algorithm>
#include <cstdio>
#include <new>
#include <string>
#include <string_view>
#include <vector>

struct ctoml_document {
    bool failed = false;
    std::string error;
    uint32_t error_line = 0;
    uint32_t error_column = 0;
    std::vector<ctoml_item> items;
    std::string pool;
};

namespace {

// --- The depth bound, found before toml++ builds anything ---------------------------------------
//
// toml++ limits nested arrays and inline tables, but not dotted keys and table headers, and it
// builds, walks and destroys its tree recursively: a key like a.a.a… 50,000 levels deep would
// overflow the stack. This scan follows TOML's lexical structure (strings, comments, brackets,
// keys) and bounds the depth of every value a document can create; a table header counts twice
// per part (each part may be an array of tables holding a table).

struct Scan {
    const char *p;
    size_t n;
    size_t i = 0;
    uint32_t line = 1;
    uint32_t limit;

    bool more() const { return i < n; }
    char peek(size_t k = 0) const { return i + k < n ? p[i + k] : '\0'; }

    // Skips a string starting at i (which holds its quote); stops at the end of the text.
    void skip_string() {
        const char q = p[i];
        const bool multi = peek(1) == q && peek(2) == q;
        i += multi ? 3 : 1;
        while (more()) {
            const char c = p[i];
            if (c == '\n') {
                if (!multi) return;  // not closed on its line: toml++ refuses it here
                line++;
            }
            if (c == '\\' && q == '"') {
                i += 2;
                continue;
            }
            if (c == q) {
                if (!multi) {
                    i++;
                    return;
                }
                if (peek(1) == q && peek(2) == q) {
                    i += 3;
                    // Up to two more quotes belong to the content.
                    for (int k = 0; k < 2 && more() && p[i] == q; k++) i++;
                    return;
                }
            }
            i++;
        }
    }

    void skip_comment() {
        while (more() && p[i] != '\n') i++;
    }

    // 0 when every value stays within `limit` levels, else the line where one would not.
    uint32_t run() {
        struct Frame {
            bool table;     // an inline table (else an array)
            uint32_t base;  // the depth of the values directly inside
        };
        std::vector<Frame> stack;
        uint32_t header = 0;    // the depth of the current [table]
        bool key = true;        // reading a key (else a value)
        bool fresh = true;      // at the start of a statement
        uint32_t parts = 0;     // parts of the key read so far
        uint32_t current = 0;   // the depth of the value being read
        auto base = [&]() { return stack.empty() ? header : stack.back().base; };
        while (more()) {
            const char c = p[i];
            if (c == '\n') {
                line++;
                i++;
                if (stack.empty()) {
                    key = true;
                    fresh = true;
                    parts = 0;
                }
                continue;
            }
            if (c == ' ' || c == '\t' || c == '\r') {
                i++;
                continue;
            }
            if (c == '#') {
                skip_comment();
                continue;
            }
            if (key) {
                if (fresh && stack.empty() && c == '[') {
                    // A table header: its parts, up to the closing bracket.
                    i++;
                    if (peek() == '[') i++;
                    uint32_t n = 1;
                    while (more() && p[i] != ']' && p[i] != '\n') {
                        if (p[i] == '"' || p[i] == '\'') {
                            skip_string();
                            continue;
                        }
                        if (p[i] == '.') n++;
                        if (n > limit / 2) return line;
                        i++;
                    }
                    header = 2 * n;
                    key = false;  // the rest of the line is no key
                    fresh = false;
                    continue;
                }
                fresh = false;
                if (c == '"' || c == '\'') {
                    if (parts == 0) parts = 1;
                    skip_string();
                    continue;
                }
                if (c == '.') {
                    parts++;
                } else if (c == '=') {
                    key = false;
                    current = base() + std::max<uint32_t>(parts, 1);
                    parts = 0;
                    if (current > limit) return line;
                } else if (c == '}' && !stack.empty() && stack.back().table) {
                    stack.pop_back();  // an empty inline table
                    key = false;
                    current = base();
                } else if (parts == 0) {
                    parts = 1;
                }
                if (base() + parts > limit) return line;
                i++;
                continue;
            }
            // A value.
            if (c == '"' || c == '\'') {
                skip_string();
                continue;
            }
            if (c == '{') {
                stack.push_back({true, current});
                key = true;
                parts = 0;
            } else if (c == '[') {
                current++;
                if (current > limit) return line;
                stack.push_back({false, current});
            } else if (c == ',') {
                if (!stack.empty()) {
                    if (stack.back().table) {
                        key = true;
                        parts = 0;
                    } else {
                        current = stack.back().base;
                    }
                }
            } else if (c == ']' || c == '}') {
                if (!stack.empty()) stack.pop_back();
                current = base();
            }
            i++;
        }
        return 0;
    }
};

// --- toml++'s tree into flat items ---------------------------------------------------------------

size_t add_text(std::string &pool, std::string_view text) {
    size_t offset = pool.size();
    pool.append(text.data(), text.size());
    return offset;
}

void format_date(std::string &out, const toml::date &d) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%04u-%02u-%02u", unsigned(d.year), unsigned(d.month), unsigned(d.day));
    out += buffer;
}

void format_time(std::string &out, const toml::time &t) {
    char buffer[48];
    std::snprintf(buffer, sizeof buffer, "%02u:%02u:%02u", unsigned(t.hour), unsigned(t.minute), unsigned(t.second));
    out += buffer;
    if (t.nanosecond != 0) {
        std::snprintf(buffer, sizeof buffer, ".%09u", unsigned(t.nanosecond));
        std::string fraction(buffer);
        while (fraction.size() > 2 && fraction.back() == '0') fraction.pop_back();
        out += fraction;
    }
}

void format_offset(std::string &out, const toml::time_offset &o) {
    if (o.minutes == 0) {
        out += 'Z';
        return;
    }
    int minutes = o.minutes;
    char sign = minutes < 0 ? '-' : '+';
    if (minutes < 0) minutes = -minutes;
    char buffer[16];
    std::snprintf(buffer, sizeof buffer, "%c%02d:%02d", sign, minutes / 60, minutes % 60);
    out += buffer;
}

uint32_t line_of(const toml::source_region &region) { return region.begin.line; }

void fail(ctoml_document &doc, std::string message, uint32_t line, uint32_t column) {
    doc.failed = true;
    doc.error = std::move(message);
    doc.error_line = line;
    doc.error_column = column;
    doc.items.clear();
    doc.pool.clear();
}

// Walks the tree with an explicit stack (never recursion), children of a table in the order written.
void flatten(ctoml_document &doc, const toml::table &root, uint32_t limit) {
    struct Pending {
        const toml::node *node;
        const toml::key *key;
        uint32_t depth;
    };
    std::vector<Pending> stack;
    stack.push_back({&root, nullptr, 0});
    std::vector<std::pair<const toml::key *, const toml::node *>> entries;
    while (!stack.empty()) {
        Pending next = stack.back();
        stack.pop_back();
        const toml::node &node = *next.node;
        if (next.depth > limit) {
            fail(doc, "nesting deeper than " + std::to_string(limit) + " levels", line_of(node.source()), 0);
            return;
        }
        ctoml_item item{};
        item.line = line_of(node.source());
        if (next.key != nullptr) {
            item.key_line = line_of(next.key->source());
            item.key_length = next.key->str().size();
            item.key_offset = add_text(doc.pool, next.key->str());
        }
        std::string text;
        switch (node.type()) {
        case toml::node_type::table: {
            const toml::table &table = *node.as_table();
            item.kind = CTOML_TABLE;
            item.count = table.size();
            entries.clear();
            for (auto &&[k, v] : table) entries.emplace_back(&k, &v);
            std::stable_sort(entries.begin(), entries.end(), [](const auto &a, const auto &b) {
                const auto &x = a.first->source().begin;
                const auto &y = b.first->source().begin;
                return x.line != y.line ? x.line < y.line : x.column < y.column;
            });
            for (auto it = entries.rbegin(); it != entries.rend(); ++it)
                stack.push_back({it->second, it->first, next.depth + 1});
            break;
        }
        case toml::node_type::array: {
            const toml::array &array = *node.as_array();
            item.kind = CTOML_ARRAY;
            item.count = array.size();
            for (size_t k = array.size(); k > 0; k--) stack.push_back({array.get(k - 1), nullptr, next.depth + 1});
            break;
        }
        case toml::node_type::string: {
            const std::string &s = node.as_string()->get();
            item.kind = CTOML_STRING;
            item.text_length = s.size();
            item.text_offset = add_text(doc.pool, s);
            break;
        }
        case toml::node_type::integer:
            item.kind = CTOML_INTEGER;
            item.integer = node.as_integer()->get();
            break;
        case toml::node_type::floating_point:
            item.kind = CTOML_FLOAT;
            item.number = node.as_floating_point()->get();
            break;
        case toml::node_type::boolean:
            item.kind = CTOML_BOOL;
            item.integer = node.as_boolean()->get() ? 1 : 0;
            break;
        case toml::node_type::date:
            item.kind = CTOML_DATE_LOCAL;
            format_date(text, node.as_date()->get());
            break;
        case toml::node_type::time:
            item.kind = CTOML_TIME_LOCAL;
            format_time(text, node.as_time()->get());
            break;
        case toml::node_type::date_time: {
            const toml::date_time &dt = node.as_date_time()->get();
            format_date(text, dt.date);
            text += 'T';
            format_time(text, dt.time);
            if (dt.offset) {
                item.kind = CTOML_DATETIME;
                format_offset(text, *dt.offset);
            } else {
                item.kind = CTOML_DATETIME_LOCAL;
            }
            break;
        }
        default:
            fail(doc, "unsupported value", item.line, 0);
            return;
        }
        if (!text.empty()) {
            item.text_length = text.size();
            item.text_offset = add_text(doc.pool, text);
        }
        doc.items.push_back(item);
    }
}

void parse(ctoml_document &doc, const char *bytes, size_t length, uint32_t limit) {
    Scan scan{bytes, length, 0, 1, limit};
    if (uint32_t line = scan.run()) {
        fail(doc, "nested deeper than " + std::to_string(limit) + " levels (tables, arrays and dotted keys)", line,
             0);
        return;
    }
    std::string_view text(bytes, length);
    try {
        toml::table root = toml::parse(text);
        flatten(doc, root, limit);
    } catch (const toml::parse_error &error) {
        const auto &where = error.source().begin;
        fail(doc, std::string(error.description()), where.line, where.column);
    }
}

}  // namespace

extern "C" {

ctoml_document *ctoml_parse(const char *bytes, size_t length, uint32_t max_depth) {
    ctoml_document *doc = new (std::nothrow) ctoml_document();
    if (doc == nullptr) return nullptr;
    try {
        parse(*doc, bytes == nullptr ? "" : bytes, bytes == nullptr ? 0 : length, max_depth);
    } catch (const std::bad_alloc &) {
        fail(*doc, "out of memory", 0, 0);
    } catch (...) {
        fail(*doc, "the parser failed", 0, 0);
    }
    return doc;
}

int ctoml_failed(const ctoml_document *document) { return document->failed ? 1 : 0; }
const char *ctoml_error(const ctoml_document *document) { return document->error.c_str(); }
uint32_t ctoml_error_line(const ctoml_document *document) { return document->error_line; }
uint32_t ctoml_error_column(const ctoml_document *document) { return document->error_column; }
size_t ctoml_item_count(const ctoml_document *document) { return document->items.size(); }
const ctoml_item *ctoml_items(const ctoml_document *document) { return document->items.data(); }
const char *ctoml_pool(const ctoml_document *document) { return document->pool.data(); }
void ctoml_free(ctoml_document *document) { delete document; }
}

/* LSan (through ASAN) detected memory leaks: direct leaks from two sites, one of which also
 * leaks indirectly (a node whose payload is only reachable from it). */
#include <stdlib.h>
#include <string.h>

struct node {
    struct node *next;
    char *payload;
};

static volatile void *sink;

__attribute__((noinline)) static struct node *make_node(size_t size)
{
    struct node *node = malloc(sizeof *node); /* MARK alloc_node */
    node->next = NULL;
    node->payload = malloc(size); /* MARK alloc_payload */
    memset(node->payload, 'x', size);
    return node;
}

__attribute__((noinline)) static void leak_strings(int count)
{
    for (int i = 0; i < count; i++) {
        char *text = strdup("leaked on purpose"); /* MARK alloc_string */
        sink = text;
    }
    sink = NULL;
}

int main(void)
{
    sink = make_node(100);
    sink = NULL;
    leak_strings(3);
    return 0;
}

/* hello: read a name from the public input and greet it (the program `make run` runs). */
#include <stdio.h>
#include <string.h>

int main(void)
{
    char name[128];
    if (fgets(name, sizeof name, stdin) == NULL)
        strcpy(name, "world");
    name[strcspn(name, "\r\n")] = '\0';
    if (name[0] == '\0')
        strcpy(name, "world");
    printf("Hello, %s!\n", name);
    return 0;
}

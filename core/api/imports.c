/* /api/v1 routes for imports (being filled in). */
#include "api/routes.h"

const td__route_t td__routes_imports[] = {
    {NULL, NULL, 0, NULL, NULL, NULL, 0},
};

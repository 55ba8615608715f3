/* /api/v1 routes for tasks (being filled in). */
#include "api/routes.h"

const td__route_t td__routes_tasks[] = {
    {NULL, NULL, 0, NULL, NULL, NULL, 0},
};

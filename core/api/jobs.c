/* /api/v1 routes for jobs (being filled in). */
#include "api/routes.h"

const td__route_t td__routes_jobs[] = {
    {NULL, NULL, 0, NULL, NULL, NULL, 0},
};

/* /api/v1 routes for applications (being filled in). */
#include "api/routes.h"

const td__route_t td__routes_applications[] = {
    {NULL, NULL, 0, NULL, NULL, NULL, 0},
};

/* /api/v1 routes for custom fields (being filled in). */
#include "api/routes.h"

const td__route_t td__routes_custom_fields[] = {
    {NULL, NULL, 0, NULL, NULL, NULL, 0},
};

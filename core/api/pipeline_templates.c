/* /api/v1 routes for pipeline templates (being filled in). */
#include "api/routes.h"

const td__route_t td__routes_pipeline_templates[] = {
    {NULL, NULL, 0, NULL, NULL, NULL, 0},
};

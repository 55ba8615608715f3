/* Route tables, one per resource file (core/api/<resource>.c), each ending with a NULL
 * method. td__routes() concatenates the tables listed in routes.c. */
#ifndef TD_API_ROUTES_H
#define TD_API_ROUTES_H

#include "api/call.h"

extern const td__route_t td__routes_system[];
extern const td__route_t td__routes_auth[];
extern const td__route_t td__routes_candidates[];
extern const td__route_t td__routes_jobs[];
extern const td__route_t td__routes_pipeline_templates[];
extern const td__route_t td__routes_applications[];
extern const td__route_t td__routes_tasks[];
extern const td__route_t td__routes_touches[];
extern const td__route_t td__routes_touches[];
extern const td__route_t td__routes_attachments[];
extern const td__route_t td__routes_custom_fields[];
extern const td__route_t td__routes_imports[];
extern const td__route_t td__routes_events[];
extern const td__route_t td__routes_scheduled_runs[];
extern const td__route_t td__routes_deliveries[];
extern const td__route_t td__routes_plugins[];
extern const td__route_t td__routes_hooks[];
extern const td__route_t td__routes_scripts[];

#endif

"""hyperweb's REST API platform: the wire conventions of docs/API.md ("Conventions"), implemented once.

How to write an endpoint (the /jobs/* and /schedules views follow this too)
-------------------------------------------------------------------------
- Subclass `hyperweb.api.views.APIView`. Defaults come from settings.REST_FRAMEWORK: the auth
  classes (X-API-Key, Bearer token, session with CSRF), `IsViewer` permission, the JSON renderer
  and parser, and the exception handler. Route it at the root without a trailing slash:
  `path("jobs/cancel", CancelView.as_view())` in `<app>/api/urls.py`, included from hyperweb/urls.py.
- Roles (`accounts.api.permissions`): `IsViewer` (read), `IsOperator` (submit/cancel jobs,
  manage schedules), `IsAdmin` (zones, users, keys), `ReadViewerWriteOperator` (GET for viewers,
  other methods for operators), `CarbonPublicRead` (anonymous too when CARBON_PUBLIC_READ).
  Anonymous callers get 401, authenticated callers without the role 403, automatically.
  Outside DRF: `accounts.roles.role_of(user)` / `has_role(user, "operator")`.
- Input: `self.body(MySerializer)` validates a JSON object body (a list, string or null body is a
  400 "request body must be a JSON object, got an array"); `self.query(MyQuerySerializer)` does
  query parameters (set `query_serializer_class` so the schema documents the 400). Use
  `hyperweb.api.views.parse_body/parse_query` from function views, `json_type(value)` in messages.
- Timestamps: `hyperweb.api.fields.TimestampField` in serializers (accepts `Z`, offsets and naive =
  UTC; writes `...Z` with at most 6 fractional digits); `hyperweb.api.timestamps.parse_timestamp`,
  `format_timestamp`, `now_iso()` elsewhere. Datetimes left in a Response are rendered the same way.
  Numbers: `fields.FiniteFloatField` refuses NaN/Infinity.
- Errors: raise DRF exceptions (`ValidationError({"field": ["problem"]})`, `NotFound("no job x")`)
  or `hyperweb.api.errors.field_error("end", "must be after start")` /
  `api_error(409, "...")`. The handler renders every one, and any unexpected exception (as a
  logged 500 without traceback), as `{"error": "<message>", "timestamp": "...Z"}`; validation
  errors say `"field: problem; other: problem"` and add `"fields": {field: [messages]}`.
  Unknown paths, 405s and faults outside DRF answer the same JSON (handlers in hyperweb/urls.py;
  a browser asking for text/html gets a page instead). Bodies above API_MAX_BODY_BYTES get 413
  (hyperweb.api.middleware).
- Lists: always arrays (`[]`, never null). Bounded lists: `pagination.limit_field(default, max)`
  for a `limit` parameter and `pagination.check_cap(count, cap, field=..., what=...)` for a 400
  when a range would return too much.
- OpenAPI: annotate the success response (`@extend_schema(operation_id=..., request=...,
  responses=Ser)`); `hyperweb.api.schema.AutoSchema` adds the error responses (400/401/403/404/
  413/429/500) from the view's method, permissions and path; list any other error status the view
  can give in `extra_error_codes = ("409",)`. The description is the handler's (or the view
  class's own) docstring. Domain exceptions can be mapped in one place per app by overriding
  `handle_exception` (see carbon.api.views.CarbonView: NoData -> 503, UnknownZone -> 400). Schema at /openapi.yaml and /openapi.json, Swagger UI at
  /docs, Redoc at /redoc (assets from drf-spectacular-sidecar, served by whitenoise).
- Tests: personas and per-role clients are fixtures in tests/conftest.py (`admin_user`,
  `operator_user`, `viewer_user`, `outsider_user`, `api_key_for`, `admin_api`,
  `operator_api`, `viewer_api`, `outsider_api`, `anon_api`).
"""

// Fixture for version_agrees.cmake: a string that does not spell the parts.
#define MPSCQ_VERSION_MAJOR 9
#define MPSCQ_VERSION_MINOR 9
#define MPSCQ_VERSION_PATCH 9
#define MPSCQ_VERSION_STRING "9.9.8"

# Services the test suite needs, started for real when they are not already running.
# Sourced by ./run test; later issues add Redis and PostgreSQL here.
start_services() {
  :
}

# Fixture for atomics_rule: not included by any build.
# MPSCQ_MUTANT_FIXTURE_UNTESTED is named only in this comment.
mpscq_add_relacy_model(fixture_mutant fixture.cpp MPSCQ_MUTANT_FIXTURE_TESTED)

// Fixture for atomics_rule: not compiled.
#ifdef MPSCQ_MUTANT_FIXTURE_TESTED
#endif
#ifdef MPSCQ_MUTANT_FIXTURE_EXCUSED
#endif
#ifdef MPSCQ_MUTANT_FIXTURE_UNTESTED
#endif

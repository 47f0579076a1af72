// A fixture for coawait_rule.cmake: the shape g++ 12.2 miscompiles. Never built.
job handle(request& r, mpscq::local_work& lw) {
  if (co_await mpscq::resume_on(lw) == mpscq::resumed::cancelled) co_return;
  r.finish();
}
job loop(mpscq::local_work& lw) {
  for (int i = 0; i < 3; ++i) co_await mpscq::resume_on(lw);  // a loop body: allowed
  while (!co_await mpscq::resume_on(lw) == mpscq::resumed::cancelled) {}
}

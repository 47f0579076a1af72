// A fixture for coawait_rule.cmake: the shape g++ 12.2 miscompiles. Never built.
job handle(request& r, mpscq::local_work& lw) {
  if (co_await mpscq::resume_on(lw) == mpscq::resumed::cancelled) co_return;
  r.finish();
}

-- wrk script of ./dev bench for the runs that span a deploy: bench.lua's counting, paced.
-- Each connection waits 20 ms after each answer (8 connections: at most 400 req/s), so that the
-- load is steady and leaves the deploy (Ansible, pip, Gunicorn's new workers) CPU to run with.
dofile("/tmp/pulsestage-bench/bench.lua")

function delay()
  return 20
end

-- The execution's span as a W3C traceparent (`00-<trace id>-<span id>-01`), then `;<span id>` of the
-- caller's span when StartExecution carried one: every process that emits the execution's spans (whoever
-- steps or closes it, after any restart) parents them on the same trace.
ALTER TABLE executions ADD COLUMN trace_context TEXT;

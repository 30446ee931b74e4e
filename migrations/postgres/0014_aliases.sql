-- State machine aliases: a name per machine routing StartExecution to one or two published versions by
-- weight. The routing is JSON text, [{"version": <number>, "weight": <0-100>}, ...]: the versions are
-- the machine's own, and a version an alias routes to cannot be deleted.
CREATE TABLE state_machine_aliases (
    state_machine_id BIGINT NOT NULL REFERENCES state_machines (id) ON DELETE CASCADE,
    name TEXT COLLATE "C" NOT NULL,
    description TEXT,
    routing_configuration TEXT NOT NULL,
    creation_date TIMESTAMPTZ NOT NULL,
    update_date TIMESTAMPTZ NOT NULL,
    -- Primary key serves lookups by alias ARN and ListStateMachineAliases (name order).
    PRIMARY KEY (state_machine_id, name)
);

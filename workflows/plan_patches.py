"""The plan workflow's patch ids, each with what it changed. A run asks workflow.patched
with one of these where its behaviour differs from runs recorded before it, so that every
stored history keeps replaying as it ran. An id is never renamed or reused."""

# Patch id: a person's decision is appended by a local activity (workflow.patched keeps
# older histories replaying through the regular activity they were recorded with).
LOCAL_APPEND = "append-decision-local-activity"
# Patch id, asked once at the start of each run (where its marker costs no one a wait):
# people's decisions go straight to the local activity without asking LOCAL_APPEND at
# the first of them, and the search attributes are not upserted for the moment between
# a phase's last step and the engine opening the next phase. Runs recorded without it
# replay as before.
RUN_START = "plan-run-decided-at-start"
# Patch id: on adoption the plan gets its yearly revision schedule (rullering).
REVISION_SCHEDULE = "revision-schedule-on-adoption"
# Patch id, asked once at the start of each run: a body decides after the hearing and in
# the council by its members' votes and its quorum rule, and a sign-off is identified by
# (person, step, version, role). Runs recorded without it keep the one-member decision
# and the sign-off identity without the role they were recorded with.
DECISION_VOTES = "decisions-by-vote"
# Patch id, asked once at the start of each run: the worker runs a person's update after
# the other jobs of the same activation (workflows.registry._UpdatesLast), so that an update the
# worker received after a query had brought the plan up to date replays as it ran.
# Runs recorded without it replay as they ran (the update first).
UPDATES_LAST = "updates-after-other-jobs"
# The attribute the worker's runner reads to know a run asked UPDATES_LAST.
UPDATES_LAST_ATTRIBUTE = "updates_last"
# Patch id: public hearing responses are appended to the record by the API itself
# (eventstore/hearing_inbox.py); before the close the workflow seals the hearing's fence
# and folds the responses it reads back from the record. Runs recorded without it close
# as before (a response the API appended meanwhile is caught up with on the close's
# append, patch catch-up-with-record).
DIRECT_RESPONSES = "hearing-responses-direct"
# Patch id, asked once at the start of each run, for a person's decision:
# - Whether it was made before (then it is answered with its original receipt) is looked
#   up under the record's lock, and its receipt remembered under it: the same decision
#   sent twice while the worker was down reaches the next worker as two updates in one
#   workflow task, and the second must see the first.
# - It is appended by a regular activity, not a local one. A worker killed after a
#   workflow task had recorded an update's acceptance and the local activity's marker,
#   but not the update's completion, left the plan failing that task on every attempt:
#   on replay the SDK's core issues the completion without its protocol message, and the
#   server refuses it ("absent message", BadUpdateWorkflowExecutionMessage).
# Runs recorded without it replay as they ran.
DECISION_ONCE = "decision-once-regular-append"

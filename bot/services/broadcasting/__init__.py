"""Broadcasting: HR's messages to many employees, once or on a recurring reminder.

- `audiences`: who a broadcast reaches, as one SQL selectable of employee ids.
- `broadcasts`: the rules of one broadcast: compose (text, attachment), record, release into
  delivery rows, cancel, count progress, list those not reached.
- `reminders`: recurring reminders, each occurrence fired once as a broadcast.
- `report`: HR's progress and report of a broadcast, in words.
- `jobs`: the periodic work (release scheduled broadcasts, HR's progress message, reminders);
  plain async functions that `bot/jobs.py` lists with their intervals.

The chat face is `handlers/broadcast.py`, the shell face `bot/cli/broadcast.py`; both only ask
and show, the rules are here.
"""

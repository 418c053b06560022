"""The team's chat bot on Telegram, a task of `pingfan run` (issue 13).

| module | what |
| --- | --- |
| wiring.py | `run_bot` (the daemon's task), the Application, start and clean stop |
| handlers.py | the commands and the button presses |
| replies.py | every reply, zh/en, as Telegram HTML within its limits |
| callbacks.py | button data (ids only) and the keyboards the bot edits |
| auth.py | who gets answers: [bot] allowed_chat_ids and allowed_user_ids |
| redact.py | the token kept out of every log line |

The queries behind the replies are named in monitor/store/team.py.
"""

from alerts.bot.handlers import DigestHook, TeamBot
from alerts.bot.wiring import bot_token, build_application, config_problems, run_bot

__all__ = ["DigestHook", "TeamBot", "bot_token", "build_application", "config_problems", "run_bot"]

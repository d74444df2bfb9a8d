"""Command palette providers made of (title, help, action) rows.

A screen's provider says which rows it offers now (``commands``) and where an action
runs (``run``, by default on the screen the palette was opened over); finding and
ranking them is the same for all.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

from textual.command import DiscoveryHit, Hit, Provider

Command = tuple[str, str, str]
"""(title, help, action): the titles and help are ours, never customer text (the palette
reads them as markup)."""


class ActionCommands(Provider):
    def commands(self) -> Sequence[Command]:
        return ()

    def run(self, action: str) -> None:
        self.app.call_next(self.app.run_action, action, self.screen)

    async def discover(self) -> AsyncIterator[DiscoveryHit | Hit]:
        for title, help_text, action in self.commands():
            yield DiscoveryHit(title, lambda a=action: self.run(a), help=help_text)

    async def search(self, query: str) -> AsyncIterator[DiscoveryHit | Hit]:
        matcher = self.matcher(query)
        for title, help_text, action in self.commands():
            score = matcher.match(title)
            if score > 0:
                yield Hit(
                    score, matcher.highlight(title), lambda a=action: self.run(a), help=help_text
                )

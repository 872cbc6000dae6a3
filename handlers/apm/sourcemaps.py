"""`apm sourcemaps [list]` with a Delete button per source map, and `apm sourcemaps delete <id>`."""

from __future__ import annotations

import logging

from bot.kibana.models.apm import SourceMapArtifact, SourceMapPage
from bot.services import Services
from handlers.apm.actions import SOURCEMAP_DELETE, SOURCEMAPS_DELETE, SOURCEMAPS_LIST, SourceMapArgs
from handlers.apm.values import SourceMapRef
from handlers.shared.audit import audited
from handlers.shared.blocks import Block, button, code, confirm, context, escape, header, section
from handlers.shared.context import Actor, Invocation
from handlers.shared.feature import Listener, Plumbing
from handlers.shared.guard import Click, packed
from handlers.shared.interaction import Interaction
from handlers.shared.words import count

log = logging.getLogger(__name__)

LIST_ACTION = SOURCEMAPS_LIST.name
DELETE_ACTION = SOURCEMAPS_DELETE.name
PER_MESSAGE = 45  # one block each, within Slack's 50 per message with the header and footers


def label(artifact: SourceMapArtifact) -> str:
    if artifact.service_name:
        return f"{artifact.service_name} {artifact.service_version or ''}".strip()
    return artifact.identifier or artifact.id


def _entry(index: int, artifact: SourceMapArtifact, space: str) -> Block:
    name = escape(artifact.service_name or artifact.identifier or "?")
    version = f" {code(artifact.service_version)}" if artifact.service_version else ""
    bundle = f"\n{code(artifact.bundle_filepath)}" if artifact.bundle_filepath else ""
    created = f"created {artifact.created:%Y-%m-%d %H:%M} UTC · " if artifact.created else ""
    ref = SourceMapRef(id=artifact.id, space=space, label=label(artifact)[:100])
    delete = button(
        "Delete",
        SOURCEMAP_DELETE,
        ref.pack(),
        style="danger",
        confirm=confirm(
            "Delete source map?",
            f"Delete the source map of *{escape(label(artifact))}* from space `{space}`? "
            "Stack traces of that version will no longer be un-minified.",
            "Delete",
            danger=True,
        ),
    )
    text = f"*{name}*{version}{bundle}\n{created}id {code(artifact.id)}"
    return section(text, accessory=delete, block_id=f"apm_sourcemap_{index}")


def sourcemap_list_blocks(page: SourceMapPage, *, space: str, slash: str) -> tuple[str, list[Block]]:
    text = f"{count(page.total, 'APM source map')} in space {space}"
    blocks: list[Block] = [header("APM source maps")]
    if not page.artifacts:
        blocks.append(section(f"No source maps in space `{space}`. Upload one with `{slash} apm sourcemaps upload`."))
        return text, blocks
    shown = page.artifacts[:PER_MESSAGE]
    blocks.append(context(f"{count(page.total, 'source map')} in space `{space}`, newest first"))
    blocks.extend(_entry(index, artifact, space) for index, artifact in enumerate(shown))
    if page.total > len(shown):
        blocks.append(context(f"…and {page.total - len(shown)} more, not shown."))
    return text, blocks


async def _listing(services: Services, space: str) -> tuple[str, list[Block]]:
    page = await services.kibana.list_sourcemaps(space=space, per_page=PER_MESSAGE)
    return sourcemap_list_blocks(page, space=space, slash=services.settings.slack_command)


async def list_sourcemaps(inv: Invocation) -> None:
    text, blocks = await _listing(inv.services, inv.space)
    await inv.reply(text, blocks=blocks)


async def delete(services: Services, actor: Actor, ref: SourceMapRef) -> None:
    """DELETE the source map and write the audit trail (either way)."""
    call = services.kibana.delete_sourcemap(ref.id, space=ref.space)
    await audited(services, actor, DELETE_ACTION, ref.id, call, detail=ref.label, space=ref.space)


def _deleted(ref: SourceMapRef) -> str:
    what = f"*{escape(ref.label)}* ({code(ref.id)})" if ref.label else f"{code(ref.id)}"
    return f"deleted source map {what} in space `{ref.space}`"


async def delete_sourcemap(inv: Invocation) -> None:
    ref = SourceMapRef(id=inv.args(SourceMapArgs).id, space=inv.space)
    await delete(inv.services, inv.actor, ref)
    await inv.reply(f"{inv.actor.mention} {_deleted(ref)}", public=True)


def listeners(plumbing: Plumbing) -> dict[str, Listener]:
    services, replies = plumbing.services, plumbing.replies

    async def deleted(ref: SourceMapRef, interaction: Interaction) -> None:
        actor = interaction.actor
        await delete(services, actor, ref)
        response_url = interaction.response_url or ""
        sentence = _deleted(ref)
        try:
            text, blocks = await _listing(services, ref.space)
            blocks.append(context(f":white_check_mark: You {sentence}."))
            await replies.to_response_url(response_url, text, blocks=blocks, replace=True)
        except Exception:
            log.exception("could not refresh the source map list after a delete")
            await replies.to_response_url(response_url, f"You {sentence}.")
        await replies.to_response_url(response_url, f"{actor.mention} {sentence}", public=True)

    on_delete = plumbing.guard.click(Click(decode=packed(SourceMapRef.unpack), aim=SourceMapRef.aim, run=deleted))
    return {SOURCEMAP_DELETE: on_delete}

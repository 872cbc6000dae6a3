"""`apm sourcemaps upload`: a modal with the service, version, bundle path and a file input.

On submit, within `ACK_BUDGET` seconds (Slack waits 3 s for the answer) the bot reads the
file from Slack and checks it; a file that is too large or not a JSON source map is
refused as an error on the file field, and nothing is uploaded. Then it acknowledges by
turning the modal into an "Uploading…" view, uploads to Kibana, and shows the outcome in
the modal: the result, or the form again with Kibana's refusal (413, 400) on top. When
the download takes longer than the budget, the modal shows "Checking…" first and any
refusal arrives the same way. If the person closed the modal meanwhile, the outcome
goes to them as an ephemeral message instead.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

from pydantic import Field, field_validator
from slack_bolt.async_app import AsyncAck

from bot.kibana.errors import KibanaError
from bot.services import Services
from handlers.apm import sourcemap_file
from handlers.apm.actions import SOURCEMAP_UPLOAD_MODAL, SOURCEMAPS_UPLOAD
from handlers.apm.explain import explain
from handlers.apm.sourcemap_file import SourceMapFile, SourceMapRefused
from handlers.shared.audit import record
from handlers.shared.blocks import Block, code, context, escape, modal, plain, section
from handlers.shared.codec import Metadata
from handlers.shared.context import Actor, Invocation
from handlers.shared.errors import Doing, describe
from handlers.shared.feature import Listener, Plumbing
from handlers.shared.grammar import is_space_id
from handlers.shared.guard import Aim, Submission, packed
from handlers.shared.interaction import Interaction
from handlers.shared.replies import Replies, Surface

log = logging.getLogger(__name__)

ACTION = SOURCEMAPS_UPLOAD.name
ACK_BUDGET = 2.0  # seconds for files.info + download + checks before Slack's 3 s run out
FILE_BLOCK = "file_block"
FILE_ACTION = "sourcemap_file"
FIELDS = {
    "service_name": ("Service name", "The `service.name` your RUM agent reports, e.g. checkout-web"),
    "service_version": ("Service version", "The `service.version` of this build, e.g. 1.4.2"),
    "bundle_filepath": (
        "Bundle file path",
        "The path or URL of the minified bundle as the browser loads it, e.g. /static/js/main.js",
    ),
}


class UploadOrigin(Metadata):
    """Where the command was run; travels in the modal's private_metadata."""

    channel: str | None = Field(None, alias="c", max_length=40)
    response_url: str | None = Field(None, alias="r", max_length=1000)
    space: str = Field("default", alias="s", min_length=1, max_length=100)

    @field_validator("space")
    @classmethod
    def _space(cls, value: str) -> str:
        if not is_space_id(value):
            raise ValueError("not a space id")
        return value

    def surface(self, actor: Actor) -> Surface:
        return Surface(user=actor.user_id, channel=self.channel, response_url=self.response_url)


@dataclass(frozen=True)
class UploadForm:
    service_name: str
    service_version: str
    bundle_filepath: str
    file_ids: list[str]

    @property
    def label(self) -> str:
        return f"{self.service_name} {self.service_version}"


# --- views ---------------------------------------------------------------------------------------


def form_view(origin: UploadOrigin, *, values: UploadForm | None = None, problem: str | None = None) -> Block:
    blocks: list[Block] = [
        section(
            f"Upload a source map to space `{origin.space}`, so Kibana shows un-minified stack traces for this "
            "service version. The file must be a JSON source map of at most 1 MiB."
        )
    ]
    if problem:
        blocks.append(section(f":warning: {problem}", block_id="upload_problem"))
    for block_id, (label, hint) in FIELDS.items():
        element: Block = {"type": "plain_text_input", "action_id": "value", "max_length": 1000}
        if values is not None and getattr(values, block_id):
            element["initial_value"] = getattr(values, block_id)
        blocks.append(
            {"type": "input", "block_id": block_id, "label": plain(label), "hint": plain(hint), "element": element}
        )
    blocks.append(
        {
            "type": "input",
            "block_id": FILE_BLOCK,
            "label": plain("Source map file"),
            "hint": plain("The .map (or .json) file your build wrote next to the bundle."),
            "element": {"type": "file_input", "action_id": FILE_ACTION, "filetypes": ["map", "json"], "max_files": 1},
        }
    )
    return modal(SOURCEMAP_UPLOAD_MODAL, "Upload source map", blocks, origin.pack(), submit="Upload")


def status_view(origin: UploadOrigin, text: str, *, close: str = "Close") -> Block:
    return modal(SOURCEMAP_UPLOAD_MODAL, "Upload source map", [section(text)], origin.pack(), submit=None, close=close)


def read_form(view: dict[str, Any]) -> UploadForm:
    state = (view.get("state") or {}).get("values") or {}

    def text(block_id: str) -> str:
        return str(((state.get(block_id) or {}).get("value") or {}).get("value") or "").strip()

    files = ((state.get(FILE_BLOCK) or {}).get(FILE_ACTION) or {}).get("files") or []
    ids = [str(f.get("id")) for f in files if isinstance(f, dict) and f.get("id")]
    return UploadForm(text("service_name"), text("service_version"), text("bundle_filepath"), ids)


def form_errors(form: UploadForm) -> dict[str, str]:
    errors = {block_id: "Required." for block_id in FIELDS if not getattr(form, block_id)}
    if not form.file_ids:
        errors[FILE_BLOCK] = "Pick the source map file."
    elif len(form.file_ids) > 1:
        errors[FILE_BLOCK] = "One source map at a time."
    return errors


# --- the command and the submission -----------------------------------------------------------


async def open_upload(inv: Invocation) -> None:
    if not inv.trigger_id:
        raise RuntimeError("the command carried no trigger_id to open the upload form")
    origin = UploadOrigin(channel=inv.actor.channel_id, response_url=inv.response_url, space=inv.space)
    await inv.client.views_open(trigger_id=inv.trigger_id, view=form_view(origin))


@dataclass
class PendingUpload:
    """A valid form whose file is being fetched from Slack."""

    form: UploadForm
    origin: UploadOrigin
    fetching: asyncio.Task[SourceMapFile] | None = field(default=None, repr=False)


def _read(origin: UploadOrigin, view: dict[str, Any]) -> PendingUpload | dict[str, str]:
    form = read_form(view)
    return form_errors(form) or PendingUpload(form, origin)


def listeners(plumbing: Plumbing) -> dict[str, Listener]:
    services, replies = plumbing.services, plumbing.replies

    async def acknowledge(origin: UploadOrigin, pending: PendingUpload, ack: AsyncAck) -> bool:
        """Within ACK_BUDGET, a file that cannot be uploaded is shown as the file field's error."""
        token = services.settings.slack_bot_token.get_secret_value()
        fetching = asyncio.create_task(sourcemap_file.fetch(services.slack, pending.form.file_ids[0], bot_token=token))
        pending.fetching = fetching
        done, _ = await asyncio.wait({fetching}, timeout=ACK_BUDGET)
        label = escape(pending.form.label)
        if not done:
            checking = f"Checking {code(pending.form.label)}'s file…"
            await ack(response_action="update", view=status_view(origin, checking))
            return True
        problem = _problem(services, fetching, origin)
        if problem is not None:
            await ack(response_action="errors", errors={FILE_BLOCK: problem})
            return False
        await ack(response_action="update", view=status_view(origin, f"Uploading *{label}* to Kibana…"))
        return True

    async def run(origin: UploadOrigin, pending: PendingUpload, interaction: Interaction) -> None:
        assert pending.fetching is not None
        actor, view_id = interaction.actor, interaction.view_id or ""
        await asyncio.wait({pending.fetching})
        problem = _problem(services, pending.fetching, origin)
        if problem is not None:
            retry = form_view(origin, values=pending.form, problem=problem)
            await _show(services, replies, view_id, origin, actor, retry, problem)
            return
        await upload(services, replies, actor, origin, pending.form, pending.fetching.result(), view_id)

    async def tell(origin: UploadOrigin, interaction: Interaction, text: str) -> None:
        await replies.privately(origin.surface(interaction.actor), text)

    def aim(origin: UploadOrigin, pending: PendingUpload) -> Aim:
        return Aim(pending.form.label, origin.space, channel=origin.channel)

    upload_spec = Submission(
        decode=packed(UploadOrigin.unpack),
        read=_read,
        aim=aim,
        run=run,
        tell=tell,
        error_block=FILE_BLOCK,
        acknowledge=acknowledge,
    )
    return {SOURCEMAP_UPLOAD_MODAL: plumbing.guard.submission(upload_spec)}


def _problem(services: Services, fetching: asyncio.Task[SourceMapFile], origin: UploadOrigin) -> str | None:
    error = fetching.exception()
    if error is None:
        return None
    if isinstance(error, SourceMapRefused):
        return error.message
    return describe(error, _doing(services, origin))


def _doing(services: Services, origin: UploadOrigin) -> Doing:
    return Doing(action=ACTION, space=origin.space, command=services.settings.slack_command, explain=explain)


async def upload(
    services: Services,
    replies: Replies,
    actor: Actor,
    origin: UploadOrigin,
    form: UploadForm,
    file: SourceMapFile,
    view_id: str,
) -> None:
    doing = _doing(services, origin)
    try:
        artifact = await services.kibana.upload_sourcemap(
            service_name=form.service_name,
            service_version=form.service_version,
            bundle_filepath=form.bundle_filepath,
            sourcemap=file.content,
            space=origin.space,
        )
    except Exception as error:
        status = error.status_code if isinstance(error, KibanaError) else None
        detail = error.message if isinstance(error, KibanaError) else type(error).__name__
        await record(
            services, actor, ACTION, form.label, result="error", kibana_status=status, detail=detail, space=origin.space
        )
        problem = describe(error, doing)
        await _show(services, replies, view_id, origin, actor, form_view(origin, values=form, problem=problem), problem)
        return
    await record(
        services,
        actor,
        ACTION,
        form.label,
        result="ok",
        detail=f"{form.bundle_filepath} ({len(file.content)} bytes) → {artifact.id}",
        space=origin.space,
    )
    sentence = (
        f"uploaded the source map of *{escape(form.service_name)}* {code(form.service_version)} "
        f"for {code(form.bundle_filepath)} to space `{origin.space}`"
    )
    done = status_view(origin, f":white_check_mark: Uploaded.\n{sentence[0].upper()}{sentence[1:]}.", close="Done")
    done["blocks"].append(context(f"Source map id {code(artifact.id)}"))
    await _show(services, replies, view_id, origin, actor, done, f"You {sentence} (id {code(artifact.id)}).")
    if origin.response_url:
        try:
            await replies.to_response_url(origin.response_url, f"{actor.mention} {sentence}.", public=True)
        except Exception:
            log.exception("could not announce a source map upload")


async def _show(
    services: Services,
    replies: Replies,
    view_id: str,
    origin: UploadOrigin,
    actor: Actor,
    view: Block,
    fallback: str,
) -> None:
    """Show `view` in the modal; when it is gone, tell the person privately where they ran the command."""
    try:
        await services.slack.views_update(view_id=view_id, view=view)
        return
    except Exception as error:
        log.info("the upload modal is gone (%s); answering by ephemeral message", type(error).__name__)
    if not await replies.privately(origin.surface(actor), fallback):
        log.error("could not tell the user how a source map upload ended")

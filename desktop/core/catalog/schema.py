"""Catalog tables: library roots, photos with their metadata, user data, caches.

User data (tags, ratings, colour labels, titles, rotation, albums, the undo
history) lives on ``Photo`` rows, their link tables and ``HistoryEntry``, which a rescan updates in place and never deletes: a file
that disappears becomes ``missing`` and a file that moves keeps its row. Only
``Embedding`` is a rebuildable cache (keyed by content hash and model id).
"""

from __future__ import annotations

import datetime as dt

import peewee as pw

# the models bind to this proxy; ``db.init_db`` points it at the catalog file
database = pw.DatabaseProxy()

STATUS_OK = "ok"
STATUS_ERROR = "error"
STATUS_MISSING = "missing"
# Photo.xmp_mtime of a photo whose file and sidecars were never read for user data: the next scan reads them
UNREAD = -1.0


def _now() -> dt.datetime:
    return dt.datetime.now()


class BaseModel(pw.Model):
    class Meta:
        database = database
        legacy_table_names = False


class Root(BaseModel):
    """A folder the user pointed Shoebox at."""

    id = pw.AutoField()
    path = pw.TextField(unique=True)
    watched = pw.BooleanField(default=True)
    is_import_target = pw.BooleanField(default=False)
    added_at = pw.DateTimeField(default=_now)
    last_scan_at = pw.DateTimeField(null=True)


class Photo(BaseModel):
    """One file in a root; metadata columns are filled by the scanner."""

    id = pw.AutoField()
    root = pw.ForeignKeyField(Root, backref="photos", on_delete="CASCADE")
    rel_path = pw.TextField()
    size_bytes = pw.IntegerField(default=0)
    mtime = pw.FloatField(default=0.0)
    content_hash = pw.CharField(max_length=64, null=True, index=True)
    status = pw.CharField(max_length=8, default=STATUS_OK, index=True)
    error = pw.TextField(null=True)
    added_at = pw.DateTimeField(default=_now, index=True)
    updated_at = pw.DateTimeField(default=_now)

    # Metadata, as displayed (width/height with the EXIF orientation applied).
    width = pw.IntegerField(null=True)
    height = pw.IntegerField(null=True)
    orientation = pw.IntegerField(null=True)
    format = pw.CharField(max_length=16, null=True)
    color_space = pw.TextField(null=True)
    # taken_at: ISO 8601 as recorded (with offset when known); taken_local:
    # naive local time "YYYY-MM-DDTHH:MM:SS.ffffff", the sort and filter key.
    taken_at = pw.TextField(null=True)
    taken_local = pw.CharField(max_length=32, default="")  # "" when unknown (errors)
    taken_at_source = pw.CharField(max_length=24, null=True)
    camera_make = pw.TextField(null=True)
    camera_model = pw.TextField(null=True)
    lens = pw.TextField(null=True)
    focal_length = pw.FloatField(null=True)
    f_number = pw.FloatField(null=True)
    exposure_time = pw.FloatField(null=True)
    iso = pw.IntegerField(null=True)
    gps_lat = pw.FloatField(null=True)
    gps_lon = pw.FloatField(null=True)
    gps_alt = pw.FloatField(null=True)
    # user data like the rating: set in Shoebox, or from the file's XMP/IPTC and sidecars (ingest.user_data)
    title = pw.TextField(null=True)
    description = pw.TextField(null=True)
    keywords = pw.TextField(null=True)  # JSON list, as written in the file
    file_rating = pw.IntegerField(null=True)
    # What other programs said of the user data when we last read it (``ingest.user_data``): the
    # newest sidecar's mtime (None: no sidecar; UNREAD: never read) and the values read, as JSON.
    xmp_mtime = pw.FloatField(null=True)
    xmp_state = pw.TextField(null=True)
    # video columns: "image" or "video" (formats.KIND_*); the rest stay NULL for photos
    media_kind = pw.CharField(max_length=8, default="image", constraints=[pw.SQL("DEFAULT 'image'")])
    duration = pw.FloatField(null=True)  # seconds
    video_codec = pw.CharField(max_length=32, null=True)  # FFmpeg's codec name: "h264", "hevc"...
    frame_rate = pw.FloatField(null=True)  # frames per second (average)
    place_source = pw.CharField(max_length=8, null=True)  # "user": set by the person, kept by rescans
    # Grouping (``ingest.pairing``, decided by the scan): a RAW beside its JPEG, or a Live Photo's clip
    # beside its still, is the companion of that cover photo (its id; no foreign key, so restoring rows
    # in any order never fails: the next scan mends a stale one) and is shown as one item with it.
    companion_of = pw.IntegerField(null=True, index=True)
    companion_kind = pw.CharField(max_length=8, null=True)  # "raw+jpeg" or "live", on the companion
    content_id = pw.TextField(null=True)  # Apple's content identifier: pairs a Live Photo's still and clip

    # User data: never touched by a rescan.
    rating = pw.IntegerField(default=0)
    color_label = pw.CharField(max_length=16, null=True)
    # Clockwise quarter turns the person asked for, on top of the file's own orientation
    # (0, 90, 180, 270); the file is left as it is.
    rotation = pw.IntegerField(default=0, constraints=[pw.SQL("DEFAULT 0")])

    class Meta:
        indexes = (
            (("root", "rel_path"), True),
            (("taken_local", "id"), False),
            (("status", "taken_local", "id"), False),
        )


class Tag(BaseModel):
    """A hierarchical tag; ``name`` is the full path, e.g. ``Places/Paris``."""

    id = pw.AutoField()
    name = pw.TextField(unique=True)
    parent = pw.ForeignKeyField("self", null=True, backref="children", on_delete="CASCADE")


class PhotoTag(BaseModel):
    photo = pw.ForeignKeyField(Photo, backref="photo_tags", on_delete="CASCADE")
    tag = pw.ForeignKeyField(Tag, backref="photo_tags", on_delete="CASCADE")

    class Meta:
        primary_key = pw.CompositeKey("photo", "tag")
        indexes = ((("tag", "photo"), False),)


class Album(BaseModel):
    id = pw.AutoField()
    name = pw.TextField(unique=True)
    created_at = pw.DateTimeField(default=_now)


class AlbumPhoto(BaseModel):
    album = pw.ForeignKeyField(Album, backref="entries", on_delete="CASCADE")
    photo = pw.ForeignKeyField(Photo, backref="album_entries", on_delete="CASCADE")
    position = pw.IntegerField(default=0)

    class Meta:
        primary_key = pw.CompositeKey("album", "photo")


class Setting(BaseModel):
    """Small key/value settings (active model, import folder pattern, ...)."""

    key = pw.CharField(primary_key=True)
    value = pw.TextField()


class Embedding(BaseModel):
    """Rebuildable cache: one vector per (file content, model)."""

    content_hash = pw.CharField(max_length=64)
    model_id = pw.CharField(max_length=128)
    vector = pw.BlobField()  # float16, L2-normalised
    created_at = pw.DateTimeField(default=_now)

    class Meta:
        primary_key = pw.CompositeKey("content_hash", "model_id")
        indexes = ((("model_id", "content_hash"), False),)


class HistoryEntry(BaseModel):
    """One user action that can be undone (see ``desktop.core.catalog.history``); user data, never a cache."""

    id = pw.AutoField()
    created_at = pw.DateTimeField(default=_now)
    kind = pw.CharField(max_length=32)
    label = pw.TextField()
    photos = pw.IntegerField(default=0)
    source = pw.CharField(max_length=16, default="cli")  # "app" or "cli": who did it
    state = pw.CharField(max_length=8, default="done", index=True)  # "done" or "undone"
    payload = pw.BlobField()  # zlib-compressed JSON list of steps


class SidecarPending(BaseModel):
    """A photo whose XMP sidecar is behind the catalog (``catalog.sidecar_queue``): kept here so that
    the writes a crash or a read-only folder held back are retried at the next drain."""

    photo = pw.ForeignKeyField(Photo, primary_key=True, on_delete="CASCADE")
    generation = pw.IntegerField(default=0)  # bumped by each edit: a drain clears only what it wrote
    reason = pw.TextField(null=True)  # why the last write failed ("folder is read-only"); None: not tried


class Recipe(BaseModel):
    """A recipe the person saved (user data; the presets live in code): ``processing.recipes`` owns it."""

    slug = pw.CharField(max_length=64, primary_key=True)
    name = pw.TextField(unique=True)
    version = pw.IntegerField(default=1)  # bumped by every save
    body = pw.TextField()  # JSON: {"steps": [...], "naming": TEMPLATE, "collision": POLICY}
    updated_at = pw.DateTimeField(default=_now)


class Task(BaseModel):
    """A processing request in the task queue (``processing.tasks`` owns it); it survives a quit or a crash."""

    id = pw.AutoField()
    msg_id = pw.TextField(index=True)
    priority = pw.IntegerField(default=0)  # higher runs first
    cmd = pw.TextField()  # the recipe slug or name, or the operation, as asked
    recipe = (
        pw.TextField()
    )  # JSON: the resolved recipe as it was when queued (name, slug, version, steps, ...)
    output_dir = pw.TextField()
    notify = pw.TextField(null=True)  # JSON: where the callback goes
    state = pw.CharField(
        max_length=12, default="queued", index=True
    )  # queued running paused done failed cancelled
    error = pw.TextField(null=True)  # why the whole task failed (per-item reasons are on the items)
    origin = pw.CharField(max_length=8, default="cli")  # "app" or "cli": who asked
    total = pw.IntegerField(default=0)
    done = pw.IntegerField(default=0)
    failed = pw.IntegerField(default=0)
    cache_hits = pw.IntegerField(default=0)
    cpu_seconds = pw.FloatField(default=0.0)
    megapixels = pw.FloatField(default=0.0)
    created_at = pw.DateTimeField(default=_now)
    started_at = pw.DateTimeField(null=True)
    finished_at = pw.DateTimeField(null=True)
    worker = pw.TextField(null=True)  # "PID@HOST" of the process running it
    heartbeat = pw.FloatField(null=True)  # time.time() of that worker's last sign of life
    notified = pw.BooleanField(default=False)  # its callback was delivered


class TaskItem(BaseModel):
    """One input of a task, its state and its outputs."""

    id = pw.AutoField()
    task = pw.ForeignKeyField(Task, backref="items", on_delete="CASCADE")
    seq = pw.IntegerField()
    source_path = pw.TextField()
    photo_id = pw.IntegerField(null=True)  # no foreign key: the task's record outlives a removed photo
    source_hash = pw.CharField(max_length=64, null=True)  # when queued; a source changed since is recomputed
    state = pw.CharField(max_length=8, default="pending", index=True)  # pending done failed
    outputs = pw.TextField(null=True)  # JSON list: {"path", "size", "mime", "cache_hit", "ssim", ...}
    code = pw.CharField(max_length=32, null=True)  # why it failed, for scripts ("source_missing", ...)
    message = pw.TextField(null=True)  # why it failed, for people
    cache_hit = pw.BooleanField(default=False)

    class Meta:
        indexes = ((("task", "seq"), True),)


class Lineage(BaseModel):
    """What was made from what (``processing.lineage`` owns it): one row per output and source. A record
    of the person's work, never a cache."""

    id = pw.AutoField()
    output_path = pw.TextField(index=True)
    output_hash = pw.CharField(max_length=64, index=True)
    source_path = pw.TextField()
    source_hash = pw.CharField(max_length=64, index=True)
    source_photo = pw.IntegerField(null=True, index=True)
    recipe = pw.TextField()  # slug
    recipe_name = pw.TextField()
    recipe_version = pw.IntegerField(default=1)
    params = pw.TextField()  # JSON: the canonical steps (operations, versions, parameters)
    task = pw.IntegerField(null=True)
    created_at = pw.DateTimeField(default=_now)


ALL_MODELS: list[type[BaseModel]] = [
    Root,
    Photo,
    Tag,
    PhotoTag,
    Album,
    AlbumPhoto,
    Setting,
    Embedding,
    HistoryEntry,
    SidecarPending,
    Recipe,
    Task,
    TaskItem,
    Lineage,
]

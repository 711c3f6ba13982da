"""The preset catalogue: tuned prompt templates for common soundscapes, with their keywords.

Finding a preset by name or from free text is :mod:`generation.preset_matching`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from generation.craft import ModelCraft, Tuning

#: Research notes: naming music and voices in the negative prompt keeps AudioLDM2 from adding
#: a backing track or a narrator; "low quality, distorted" steers away from lo-fi artefacts.
DEFAULT_NEGATIVE_PROMPT = "music, voices, low quality, distorted"

#: Presets where background talk belongs: forbid intelligible speech, not the murmur.
MURMUR_NEGATIVE_PROMPT = "music, clear speech, low quality, distorted"

#: Defaults when no preset applies (also the defaults of :class:`Preset`). 50 steps is the sweet
#: spot: 100 steps measured worse, not better.
DEFAULT_DURATION_S = 10.0
DEFAULT_STEPS = 50
DEFAULT_GUIDANCE = 6.0

#: Template for text that matched no preset: only the quality phrases that always help.
GENERIC_TEMPLATE = "{text}, ambient soundscape, high quality recording, natural field recording, immersive"


@dataclass(frozen=True, slots=True, kw_only=True)
class Preset:
    """A tuned recipe for one kind of soundscape."""

    key: str
    label: str
    keywords: tuple[str, ...]
    """Base forms matched as whole words (inflections included); may be phrases ("coffee shop")."""
    template: str
    """Format string with one ``{text}`` placeholder where the user's words go."""
    negative_prompt: str = DEFAULT_NEGATIVE_PROMPT
    guidance: float = DEFAULT_GUIDANCE
    steps: int = DEFAULT_STEPS
    duration_s: float = DEFAULT_DURATION_S
    example: str = ""
    description: str = ""
    aliases: tuple[str, ...] = ()
    """Other names :func:`get_preset` accepts ("coffee shop" for "cafe")."""
    priority: int = 0
    """Breaks ties in :func:`match_preset`: a preset that contains another ranks higher."""
    tuning: dict[str, Tuning] = field(default_factory=dict)
    """Settings for other models where the catalogue's are an AudioLDM2 workaround, by
    :attr:`ModelCraft.tuning_keys` ("stable-audio" for every Stable Audio model)."""

    def __post_init__(self) -> None:
        # Catch catalogue typos at import time rather than at the first request.
        for template in (self.template, *(t.template for t in self.tuning.values() if t.template)):
            if template.count("{text}") != 1 or template.replace("{text}", "").count("{"):
                raise ValueError(
                    f"preset {self.key!r}: template needs exactly one {{text}} and no other braces"
                )

    def tuned(self, craft: ModelCraft) -> Tuning:
        """This preset's own settings for ``craft``'s model (empty where it has none)."""
        return next((self.tuning[key] for key in craft.tuning_keys if key in self.tuning), _NO_TUNING)

    def render(self, text: str, craft: ModelCraft | None = None) -> str:
        """The template (``craft``'s model's, where the preset has one) with the user's words in
        place; braces in ``text`` are not interpreted."""
        template = (self.tuned(craft).template if craft is not None else None) or self.template
        return template.format(text=text)


_NO_TUNING = Tuning()


CATALOGUE: tuple[Preset, ...] = (
    Preset(
        key="rain",
        label="🌧️ Rain",
        keywords=("rain", "rainfall", "raindrop", "drizzle", "downpour", "patter"),
        # Steady textures come out mushy; asking for distinct droplets and a little more guidance
        # gives the model punctual events to render.
        template=(
            "{text}, distinct raindrops pattering on leaves and a rooftop, close-miked field recording, "
            "high quality recording, ambient soundscape"
        ),
        guidance=7.0,
        example="gentle rain on a tin roof",
        description="Rainfall with distinct droplets, from drizzle to downpour.",
        # Stable Audio renders steady rain cleanly: the droplet trick would only thin it out.
        tuning={
            "stable-audio": Tuning(
                template="{text}, steady rain falling on leaves and a rooftop, close-miked field recording, "
                "high quality recording, ambient soundscape"
            )
        },
    ),
    Preset(
        key="thunderstorm",
        label="⛈️ Thunderstorm",
        keywords=("thunder", "thunderstorm", "storm", "lightning", "thunderclap"),
        template=(
            "{text}, rolling thunder claps over heavy rain, wide stereo field recording, "
            "high quality recording, ambient soundscape"
        ),
        guidance=6.5,
        example="distant thunder rolling over heavy rain",
        description="Thunder claps and rumbles over heavy rain.",
        aliases=("storm", "thunder"),
        # A storm includes rain and wind: "rain and thunder" means a thunderstorm.
        priority=2,
    ),
    Preset(
        key="ocean",
        label="🌊 Ocean waves",
        keywords=("ocean", "wave", "beach", "sea", "surf", "shore", "seaside", "tide", "tidal", "coast"),
        template=(
            "{text}, ocean waves crashing and washing up the shore, seaside field recording, "
            "high quality recording, ambient soundscape"
        ),
        example="waves rolling onto a sandy beach",
        description="Waves breaking on a shore.",
        aliases=("ocean waves", "waves", "sea"),
    ),
    Preset(
        key="forest-night",
        label="🌲 Forest at night",
        keywords=("forest", "woods", "woodland", "night", "nighttime", "midnight", "nocturnal", "owl"),
        template=(
            "{text}, quiet forest at night, rustling leaves and distant owl calls, nature field recording, "
            "high quality recording, ambient soundscape"
        ),
        negative_prompt="music, voices, traffic, low quality, distorted",
        example="a forest at night with an owl hooting",
        description="A calm night forest: rustling leaves, owls, insects.",
        aliases=("forest", "night forest", "forest night"),
    ),
    Preset(
        key="fireplace",
        label="🔥 Fireplace",
        keywords=("fire", "fireplace", "crackle", "hearth", "campfire", "bonfire", "ember", "log"),
        template=(
            "{text}, crackling wood fire with popping embers, close-up field recording, "
            "high quality recording, ambient soundscape"
        ),
        example="a crackling fire in a stone fireplace",
        description="Crackling logs and popping embers.",
        aliases=("fire", "campfire"),
    ),
    Preset(
        key="river",
        label="🏞️ River",
        keywords=("river", "stream", "creek", "brook", "babble", "waterfall", "rapids"),
        # Flowing water is a steady texture too: slightly higher guidance keeps it from turning to hiss.
        template=(
            "{text}, water flowing and babbling over rocks, nature field recording, "
            "high quality recording, ambient soundscape"
        ),
        guidance=6.5,
        example="a mountain stream babbling over rocks",
        description="A stream or river flowing over stones.",
        aliases=("stream", "creek"),
    ),
    Preset(
        key="wind",
        label="🌬️ Wind",
        keywords=("wind", "breeze", "gust", "gale", "howl", "blizzard"),
        template=(
            "{text}, gusts of wind blowing through trees and grass, outdoor field recording, "
            "high quality recording, ambient soundscape"
        ),
        guidance=6.5,
        example="wind howling across an empty plain",
        description="Gusts and breezes, from gentle to howling.",
        aliases=("breeze",),
    ),
    Preset(
        key="cafe",
        label="☕ Café",
        keywords=("cafe", "coffee", "coffee shop", "espresso", "barista", "bistro", "teahouse"),
        template=(
            "{text}, cozy café ambience, soft background murmur of conversation, clinking cups and "
            "espresso machine, high quality recording, ambient soundscape"
        ),
        # Murmur is the point of a café; only intelligible speech is unwanted.
        negative_prompt=MURMUR_NEGATIVE_PROMPT,
        example="a busy coffee shop on a rainy morning",
        description="Café murmur, cups and an espresso machine.",
        aliases=("coffee shop", "coffee"),
    ),
    Preset(
        key="city",
        label="🏙️ City street",
        keywords=("city", "street", "traffic", "urban", "downtown", "car", "siren", "sidewalk"),
        template=(
            "{text}, city street ambience, passing traffic and footsteps, distant crowd murmur, "
            "high quality field recording, ambient soundscape"
        ),
        negative_prompt=MURMUR_NEGATIVE_PROMPT,
        example="a city street at rush hour",
        description="Traffic, footsteps and a distant crowd.",
        aliases=("city street", "street"),
    ),
    Preset(
        key="birdsong",
        label="🐦 Birdsong at dawn",
        keywords=("bird", "birdsong", "songbird", "dawn", "dawn chorus", "sunrise", "chirp", "warble"),
        template=(
            "{text}, dawn chorus of songbirds chirping in the trees, nature field recording, "
            "high quality recording, ambient soundscape"
        ),
        example="birds singing at dawn in a meadow",
        description="A dawn chorus of songbirds.",
        aliases=("birds", "dawn chorus", "dawn"),
    ),
    Preset(
        key="space",
        label="🌌 Deep space drone",
        keywords=("space", "deep space", "drone", "cosmic", "cosmos", "galaxy", "nebula", "spaceship"),
        template=(
            "{text}, deep space ambient drone, slowly evolving low rumble and shimmering tones, "
            "vast reverberant ambient soundscape, high quality recording"
        ),
        # A drone is tonal, so "music" is not forbidden; beats and vocals are.
        negative_prompt="vocals, speech, drums, percussion, low quality, distorted",
        guidance=5.5,
        duration_s=15.0,
        example="drifting through a nebula",
        description="A slow, vast, evolving drone.",
        aliases=("deep space", "drone"),
    ),
    Preset(
        key="crickets",
        label="🦗 Crickets",
        keywords=("cricket", "cicada", "insect", "katydid", "summer night"),
        template=(
            "{text}, crickets chirping on a warm summer night, nature field recording, "
            "high quality recording, ambient soundscape"
        ),
        example="crickets in a summer meadow",
        description="Crickets and cicadas on a warm night.",
        aliases=("cicadas", "insects"),
    ),
    Preset(
        key="underwater",
        label="🫧 Underwater",
        keywords=(
            "underwater",
            "submerged",
            "submarine",
            "diving",
            "bubble",
            "deep sea",
            "whale",
            "hydrophone",
        ),
        template=(
            "{text}, muffled underwater ambience with bubbles and a deep low rumble, hydrophone recording, "
            "high quality recording, ambient soundscape"
        ),
        guidance=5.5,
        example="whales singing deep underwater",
        description="Muffled depths, bubbles and distant whales.",
        aliases=("deep sea",),
        # "deep sea" also says "sea"; under the surface is the more specific wish.
        priority=1,
    ),
    Preset(
        key="train",
        label="🚆 Train journey",
        keywords=("train", "railway", "railroad", "locomotive", "carriage", "tram"),
        template=(
            "{text}, inside a moving train, rhythmic clatter of wheels on rails and steady rumble, "
            "field recording, high quality recording, ambient soundscape"
        ),
        example="a train rolling through the countryside at night",
        description="The rhythmic clatter of a moving train.",
        aliases=("railway",),
    ),
)

PRESETS: dict[str, Preset] = {p.key: p for p in CATALOGUE}

"""CSDL (OData Common Schema Definition Language, XML) written from a compact description.

The simulator serves its own schema documents at ``/redfish/v1/Schemas/<Name>_v1.xml``
and a ``$metadata`` document referencing them: no DMTF schema bundle (DSP8010) is
available offline, so these documents describe exactly the types, properties and
enumerations this simulator serves, spelled as in DSP8010 (see
``simulators.redfish.schemas``). A schema file holds the unversioned namespace
(abstract base type, actions, shared enumerations) and one versioned namespace
(the concrete type and its complex types), as DMTF's files do.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from xml.sax.saxutils import quoteattr

EDMX = "http://docs.oasis-open.org/odata/ns/edmx"
EDM = "http://docs.oasis-open.org/odata/ns/edm"
SCHEMA_BASE = "/redfish/v1/Schemas/"
ODATA_CORE = (
    "http://docs.oasis-open.org/odata/odata/v4.0/errata03/csprd01/complete/vocabularies/Org.OData.Core.V1.xml"
)
ODATA_MEASURES = "http://docs.oasis-open.org/odata/odata/v4.0/errata03/csprd01/complete/vocabularies/Org.OData.Measures.V1.xml"
ODATA_CAPABILITIES = (
    "http://docs.oasis-open.org/odata/odata/v4.0/errata03/csprd01/complete/vocabularies/"
    "Org.OData.Capabilities.V1.xml"
)


@dataclass(frozen=True)
class Prop:
    """One property. ``type`` is an EDM primitive, a qualified type, or ``Collection(...)``."""

    name: str
    type: str
    nav: bool = False  # a NavigationProperty (a link to another resource)
    writable: bool = False
    required: bool = False
    nullable: bool = True
    units: str | None = None
    auto_expand: bool = False


@dataclass(frozen=True)
class Type:
    name: str
    props: tuple[Prop, ...] = ()
    base: str | None = None
    entity: bool = False
    abstract: bool = False
    uris: tuple[str, ...] = ()
    insertable: bool | None = None  # Capabilities: None = no annotation
    updatable: bool | None = None
    deletable: bool | None = None


@dataclass(frozen=True)
class Enum:
    name: str
    members: tuple[str, ...]


@dataclass(frozen=True)
class Action:
    name: str
    binding: str  # the bound type (the resource's Actions complex type)
    params: tuple[tuple[str, str], ...] = ()


@dataclass
class Schema:
    """One schema file: ``name`` (e.g. ComputerSystem) at ``version`` (e.g. v1_20_0)."""

    name: str
    version: str | None = None  # None: a namespace without versions (collections, vocabularies)
    unversioned: list[Type | Enum | Action] = field(default_factory=list)
    versioned: list[Type | Enum] = field(default_factory=list)
    raw_versioned: str = ""  # extra XML in the versioned namespace (the service container)

    @property
    def file(self) -> str:
        return f"{self.name}_v1.xml"

    @property
    def uri(self) -> str:
        return SCHEMA_BASE + self.file

    @property
    def namespaces(self) -> list[str]:
        return [self.name] + ([f"{self.name}.{self.version}"] if self.version else [])

    @property
    def odata_type_prefix(self) -> str:
        return f"{self.name}.{self.version}" if self.version else self.name


def _referenced_types(schema: Schema) -> set[str]:
    refs: set[str] = set()

    def add(type_name: str | None) -> None:
        if not type_name:
            return
        if type_name.startswith("Collection("):
            type_name = type_name[len("Collection(") : -1]
        if not type_name.startswith("Edm."):
            refs.add(type_name)

    for item in [*schema.unversioned, *schema.versioned]:
        if isinstance(item, Type):
            add(item.base)
            for p in item.props:
                add(p.type)
        elif isinstance(item, Action):
            add(item.binding)
            for _, t in item.params:
                add(t)
    return refs


def _namespace_of(type_name: str) -> str:
    return type_name.rsplit(".", 1)[0]


def _prop_xml(p: Prop) -> str:
    tag = "NavigationProperty" if p.nav else "Property"
    attrs = f"Name={quoteattr(p.name)} Type={quoteattr(p.type)}"
    if not p.nullable and not p.type.startswith("Collection("):
        attrs += ' Nullable="false"'
    lines = [f"        <{tag} {attrs}>"]
    perm = "ReadWrite" if p.writable else "Read"
    lines.append(f'          <Annotation Term="OData.Permissions" EnumMember="OData.Permission/{perm}"/>')
    if p.required:
        lines.append('          <Annotation Term="Redfish.Required"/>')
    if p.units:
        lines.append(f'          <Annotation Term="Measures.Unit" String={quoteattr(p.units)}/>')
    if p.auto_expand:
        lines.append('          <Annotation Term="OData.AutoExpand"/>')
    lines.append(f"        </{tag}>")
    return "\n".join(lines)


def _type_xml(t: Type) -> str:
    tag = "EntityType" if t.entity else "ComplexType"
    attrs = f"Name={quoteattr(t.name)}"
    if t.base:
        attrs += f" BaseType={quoteattr(t.base)}"
    if t.abstract:
        attrs += ' Abstract="true"'
    lines = [f"      <{tag} {attrs}>"]
    if not t.entity and not t.abstract:
        lines.append('        <Annotation Term="OData.AdditionalProperties" Bool="false"/>')
    for kind, flag in (("Insert", t.insertable), ("Update", t.updatable), ("Delete", t.deletable)):
        if flag is not None:
            prop = {"Insert": "Insertable", "Update": "Updatable", "Delete": "Deletable"}[kind]
            lines.append(f'        <Annotation Term="Capabilities.{kind}Restrictions">')
            lines.append("          <Record>")
            lines.append(f'            <PropertyValue Property="{prop}" Bool="{str(flag).lower()}"/>')
            lines.append("          </Record>")
            lines.append("        </Annotation>")
    if t.uris:
        lines.append('        <Annotation Term="Redfish.Uris">')
        lines.append("          <Collection>")
        lines.extend(f"            <String>{u}</String>" for u in t.uris)
        lines.append("          </Collection>")
        lines.append("        </Annotation>")
    lines.extend(_prop_xml(p) for p in t.props)
    lines.append(f"      </{tag}>")
    return "\n".join(lines)


def _enum_xml(e: Enum) -> str:
    lines = [f"      <EnumType Name={quoteattr(e.name)}>"]
    lines.extend(f"        <Member Name={quoteattr(m)}/>" for m in e.members)
    lines.append("      </EnumType>")
    return "\n".join(lines)


def _action_xml(a: Action) -> str:
    lines = [f'      <Action Name={quoteattr(a.name)} IsBound="true">']
    lines.append(f'        <Parameter Name="{a.binding.split(".")[0]}" Type={quoteattr(a.binding)}/>')
    lines.extend(f"        <Parameter Name={quoteattr(n)} Type={quoteattr(t)}/>" for n, t in a.params)
    lines.append("      </Action>")
    return "\n".join(lines)


def _item_xml(item: Type | Enum | Action) -> str:
    if isinstance(item, Type):
        return _type_xml(item)
    if isinstance(item, Enum):
        return _enum_xml(item)
    return _action_xml(item)


def _vocabulary_references() -> list[str]:
    return [
        f'  <edmx:Reference Uri="{ODATA_CORE}">\n'
        '    <edmx:Include Namespace="Org.OData.Core.V1" Alias="OData"/>\n  </edmx:Reference>',
        f'  <edmx:Reference Uri="{ODATA_MEASURES}">\n'
        '    <edmx:Include Namespace="Org.OData.Measures.V1" Alias="Measures"/>\n  </edmx:Reference>',
        f'  <edmx:Reference Uri="{ODATA_CAPABILITIES}">\n'
        '    <edmx:Include Namespace="Org.OData.Capabilities.V1" Alias="Capabilities"/>\n  </edmx:Reference>',
        f'  <edmx:Reference Uri="{SCHEMA_BASE}RedfishExtensions_v1.xml">\n'
        '    <edmx:Include Namespace="RedfishExtensions.v1_0_0" Alias="Redfish"/>\n  </edmx:Reference>',
    ]


def document(schema: Schema, all_schemas: Iterable[Schema]) -> str:
    """The CSDL XML of one schema file."""
    by_namespace = {ns: s for s in all_schemas for ns in s.namespaces}
    needed: dict[str, set[str]] = {}
    for type_name in sorted(_referenced_types(schema)):
        ns = _namespace_of(type_name)
        owner = by_namespace.get(ns)
        if owner is None:
            raise ValueError(f"{schema.name}: type {type_name} is in no served schema")
        if owner.name != schema.name:
            needed.setdefault(owner.uri, set()).add(ns)
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<edmx:Edmx xmlns:edmx="{EDMX}" Version="4.0">',
        *_vocabulary_references(),
    ]
    for uri in sorted(needed):
        includes = "\n".join(f'    <edmx:Include Namespace="{ns}"/>' for ns in sorted(needed[uri]))
        parts.append(f'  <edmx:Reference Uri="{uri}">\n{includes}\n  </edmx:Reference>')
    parts.append("  <edmx:DataServices>")
    parts.append(f'    <Schema xmlns="{EDM}" Namespace="{schema.name}">')
    parts.extend(_item_xml(i) for i in schema.unversioned)
    parts.append("    </Schema>")
    if schema.version:
        parts.append(f'    <Schema xmlns="{EDM}" Namespace="{schema.name}.{schema.version}">')
        parts.extend(_item_xml(i) for i in schema.versioned)
        if schema.raw_versioned:
            parts.append(schema.raw_versioned)
        parts.append("    </Schema>")
    parts.append("  </edmx:DataServices>")
    parts.append("</edmx:Edmx>")
    return "\n".join(parts) + "\n"


def metadata(schemas: Iterable[Schema], service_root: Schema) -> str:
    """The service's ``$metadata``: a reference to every schema it serves."""
    container = f"{service_root.odata_type_prefix}.ServiceContainer"
    parts = ['<?xml version="1.0" encoding="UTF-8"?>', f'<edmx:Edmx xmlns:edmx="{EDMX}" Version="4.0">']
    for s in schemas:
        includes = "\n".join(f'    <edmx:Include Namespace="{ns}"/>' for ns in s.namespaces)
        parts.append(f'  <edmx:Reference Uri="{s.uri}">\n{includes}\n  </edmx:Reference>')
    parts += [
        "  <edmx:DataServices>",
        f'    <Schema xmlns="{EDM}" Namespace="Service">',
        f'      <EntityContainer Name="Service" Extends="{container}"/>',
        "    </Schema>",
        "  </edmx:DataServices>",
        "</edmx:Edmx>",
    ]
    return "\n".join(parts) + "\n"


REDFISH_EXTENSIONS = f"""<?xml version="1.0" encoding="UTF-8"?>
<edmx:Edmx xmlns:edmx="{EDMX}" Version="4.0">
  <edmx:Reference Uri="{ODATA_CORE}">
    <edmx:Include Namespace="Org.OData.Core.V1" Alias="OData"/>
  </edmx:Reference>
  <edmx:DataServices>
    <Schema xmlns="{EDM}" Namespace="RedfishExtensions.v1_0_0" Alias="Redfish">
      <Term Name="AllowableValues" Type="Collection(Edm.String)"/>
      <Term Name="Required" Type="Edm.Boolean" DefaultValue="true"/>
      <Term Name="Uris" Type="Collection(Edm.String)"/>
    </Schema>
  </edmx:DataServices>
</edmx:Edmx>
"""

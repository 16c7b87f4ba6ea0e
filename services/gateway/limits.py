"""What one GraphQL request may ask, checked once before anything executes.

- **Cost.** Each field costs its weight, once per time it is resolved; a list multiplies what is
  below it by its size: the field's ``first`` argument (on a page or connection,
  the list inside it), or :data:`UNSIZED_LIST` items for a list without one (its most, where
  :data:`KNOWN_SIZES` knows it). Audit fields weigh
  more (:data:`WEIGHTS`): ``verification`` re-reads a unit's whole log, ``auditLog`` returns
  events whole. An operation over ``THIDUA_GRAPHQL_MAX_COST`` is refused (QUERY_TOO_COSTLY).
- **Text.** No string, as a literal in the document or anywhere in the variables, is longer than
  ``THIDUA_MAX_TEXT_CHARS`` (TEXT_TOO_LONG); search terms have a tighter limit of their own
  (shared/text.py).
- **Lists.** No list in the variables has more than ``THIDUA_MAX_LIST_ITEMS`` items, except bulk
  rows (:data:`BULK_ITEMS`), which may have ``THIDUA_MAX_BULK_ROWS`` (LIST_TOO_LONG). A list
  written in the document itself is bounded by the token limit, and by the same item limit.

Validation and the document's own figures (cost per distinct size variables, longest literal)
are computed once per parsed document and kept with it (:class:`DocumentFacts`): the parser
cache hands a repeated query's text the same document object, so a repeat costs a look-up by
identity (hashing a document is a walk over all of it); only the variables are walked each time.
"""

from __future__ import annotations

import inspect
import re
import weakref
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

from graphql import (
    DocumentNode,
    FieldNode,
    FloatValueNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    SelectionSetNode,
    StringValueNode,
    VariableNode,
    get_named_type,
    get_nullable_type,
    get_operation_ast,
    type_from_ast,
    visit,
)
from graphql.language import Visitor
from graphql.validation import ASTValidationRule, validate
from strawberry.extensions import SchemaExtension
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule

from services.reporting.schema import BELOW_MOST
from services.reporting.schema_reports import MOST_UNITS_BELOW
from shared.settings import Settings
from shared.text import grouped

UNSIZED_LIST = 10
SIZE_ARGUMENTS = ("first",)  # every list that can grow pages by `first` (shared/pages.py)
# Lists without a `first` whose size is known to be much larger than UNSIZED_LIST: counted at
# the most they return. A summary's units below is one summary each and has units below of its
# own: estimated at 10, a union's below of below (54 × 700 summaries) passed as cheap. The
# reports below are one a unit directly below (a province's 700), each with its sections,
# their history and its figures as sent and as of today.
KNOWN_SIZES: dict[str, int] = {
    "UnitSummary.below": BELOW_MOST,
    "Query.reportsBelow": MOST_UNITS_BELOW,
}
# Field → (weight of resolving it once, weight of each item it returns).
WEIGHTS: dict[str, tuple[int, int]] = {
    "Query.verification": (2_000, 0),
    "Query.auditLog": (100, 5),
    # a roll-up of a subtree, as a summary is (summaries: 100 a request): a report's figures
    # under reportsBelow were 2,000 roll-ups at the price of 2,000 fields
    "PeriodReport.figures": (10, 0),
    # each year's deadlines read over the subtree (compliance's registrations)
    "SummaryFigures.registrationsNotYet": (10, 0),
}
# registerPledges, registerPeople, addNominees
BULK_ITEMS = frozenset({"PledgeRowInput", "PersonInput", "NomineeInput"})
CACHE_SIZE = 1024

_COMPOSITE = (GraphQLObjectType, GraphQLInterfaceType, GraphQLUnionType)
_CAN_HIDE = "hide_suggestions" in inspect.signature(validate).parameters


@dataclass(frozen=True)
class Limits:
    max_cost: int
    max_text_chars: int
    max_list_items: int
    max_bulk_rows: int
    suggestions: bool = True

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        return cls(
            settings.graphql_max_cost,
            settings.max_text_chars,
            settings.max_list_items,
            settings.max_bulk_rows,
            suggestions=settings.graphiql_enabled,
        )


def validated(
    schema: GraphQLSchema,
    document: DocumentNode,
    rules: tuple[type[ASTValidationRule], ...],
    hide_suggestions: bool,
) -> list[GraphQLError]:
    """graphql-core's validation with strawberry's own rules added (as strawberry validates),
    without "Did you mean …" suggestions when they are off (not even computed)."""
    every = (*rules, MaybeNullValidationRule, OneOfInputValidationRule)
    if not _CAN_HIDE:  # graphql-core before 3.3: the schema strips them from messages instead
        return validate(schema, document, every)
    return validate(schema, document, every, hide_suggestions=hide_suggestions)


def refusal(code: str, message: str, **extensions: Any) -> GraphQLError:
    return GraphQLError(message, extensions={"code": code, **extensions})


# ------------------------------------------------------------------------------------------ cost


class _Cost:
    """The cost of one operation of a document, for given values of its size variables."""

    def __init__(self, schema: GraphQLSchema, document: DocumentNode, sizes: dict[str, Any]):
        self.schema = schema
        self.sizes = sizes
        self.fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self.spread_costs: dict[tuple[str, str, int | None], int] = {}

    def of(self, selections: SelectionSetNode, parent: Any, hint: int | None) -> int:
        total = 0
        for node in selections.selections:
            if isinstance(node, FieldNode):
                total += self.field(node, parent, hint)
            elif isinstance(node, InlineFragmentNode):
                typed = node.type_condition
                inner = self.schema.get_type(typed.name.value) if typed else parent
                total += self.of(node.selection_set, inner or parent, hint)
            elif isinstance(node, FragmentSpreadNode):
                total += self.spread(node.name.value, parent, hint)
        return total

    def spread(self, name: str, parent: Any, hint: int | None) -> int:
        # Memoised: fragments spreading fragments twice over would otherwise cost 2^n walks.
        key = (name, parent.name, hint)
        if key not in self.spread_costs:
            fragment = self.fragments[name]
            inner = self.schema.get_type(fragment.type_condition.name.value) or parent
            self.spread_costs[key] = self.of(fragment.selection_set, inner, hint)
        return self.spread_costs[key]

    def field(self, node: FieldNode, parent: Any, hint: int | None) -> int:
        name = node.name.value
        fields = getattr(parent, "fields", {})
        if name.startswith("__") or name not in fields:
            return 1
        definition = fields[name]
        call, per_item = WEIGHTS.get(f"{parent.name}.{name}", (1, 1))
        named = get_named_type(definition.type)
        size = self.size(node, definition)
        if not isinstance(named, _COMPOSITE):
            return call if f"{parent.name}.{name}" in WEIGHTS else 0
        if isinstance(get_nullable_type(definition.type), GraphQLList):
            count = size or hint or KNOWN_SIZES.get(f"{parent.name}.{name}", UNSIZED_LIST)
            return call + count * (per_item + self.below(node, named, None))
        return call + self.below(node, named, size)

    def below(self, node: FieldNode, named: Any, hint: int | None) -> int:
        return self.of(node.selection_set, named, hint) if node.selection_set else 0

    def size(self, node: FieldNode, definition: Any) -> int | None:
        for argument in SIZE_ARGUMENTS:
            if argument not in definition.args:
                continue
            given = next((a.value for a in node.arguments or () if a.name.value == argument), None)
            value: Any = definition.args[argument].default_value
            if isinstance(given, IntValueNode):
                value = int(given.value)
            elif isinstance(given, VariableNode):
                value = self.sizes.get(given.name.value, value)
            if type(value) is int and value > 0:
                return value
        return None


def _size_variables(variables: dict[str, Any] | None) -> tuple[tuple[str, int | None], ...]:
    """The variables that can be a list size: the part of them a cost depends on. graphql-core
    takes a whole float (``500.0``) for an Int, so the cost must count it as the same size."""
    return tuple(sorted((k, s) for k, v in (variables or {}).items() if (s := _size(v)) != -1))


def _size(value: Any) -> int | None:
    if value is None or type(value) is int:
        return value
    if type(value) is float and value.is_integer():
        return int(value)
    return -1  # not a size


def operation_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    sizes: tuple[tuple[str, int | None], ...],
) -> int:
    operation = get_operation_ast(document, operation_name)
    if operation is None:
        return 0
    given = dict(sizes)
    for definition in operation.variable_definitions or ():
        default = definition.default_value
        if given.get(definition.variable.name.value) is None and isinstance(default, IntValueNode):
            given[definition.variable.name.value] = int(default.value)
    root = schema.get_root_type(operation.operation)
    return _Cost(schema, document, given).of(operation.selection_set, root, None)


# ---------------------------------------------------------------------------- text and lists


@dataclass(frozen=True)
class Literals:
    longest_text: int
    longest_list: int
    longest_number: int
    has_control: bool


# Longer than any Int or BigInt (16 digits) a field takes, and short enough that Python reads it
# as an int (it refuses past 4,300 digits: an unexpected error, not the client's refusal).
MAX_NUMBER_CHARS = 40


class _Measure(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.text = 0
        self.items = 0
        self.number = 0
        self.control = False

    def enter_string_value(self, node: StringValueNode, *_: Any) -> None:
        self.text = max(self.text, len(node.value))
        self.control = self.control or _controlled(node.value)

    def enter_list_value(self, node: ListValueNode, *_: Any) -> None:
        self.items = max(self.items, len(node.values))

    def enter_int_value(self, node: IntValueNode, *_: Any) -> None:
        self.number = max(self.number, len(node.value))

    def enter_float_value(self, node: FloatValueNode, *_: Any) -> None:
        self.number = max(self.number, len(node.value))


def literals(document: DocumentNode) -> Literals:
    measure = _Measure()
    visit(document, measure)
    return Literals(measure.text, measure.items, measure.number, measure.control)


def literals_of(document: DocumentNode) -> Literals:
    facts = facts_of(document)
    if facts.literals is None:
        computed["literals"] += 1
        facts.literals = literals(document)
    return facts.literals


def check_numbers(document: DocumentNode) -> GraphQLError | None:
    """Checked before validation, which reads every number literal as a Python int."""
    if literals_of(document).longest_number <= MAX_NUMBER_CHARS:
        return None
    return refusal("INVALID_INPUT", f"Số trong câu truy vấn dài quá {MAX_NUMBER_CHARS} chữ số.")


# ------------------------------------------------------------------------- per-document facts

T = TypeVar("T")
COSTS_PER_DOCUMENT = 64
computed: Counter[str] = Counter()  # what was worked out rather than looked up (tests, metrics)


@dataclass
class DocumentFacts:
    """What is known of one parsed document. Held beside it, never holding it: it goes when the
    document does (dropped by the parser cache, or never cached)."""

    validations: dict[tuple[Any, ...], list[GraphQLError]] = field(default_factory=dict)
    costs: dict[tuple[Any, ...], int] = field(default_factory=dict)
    literals: Literals | None = None

    def known(
        self,
        what: str,
        table: dict[tuple[Any, ...], T],
        key: tuple[Any, ...],
        work: Callable[[], T],
    ) -> T:
        if key not in table:
            computed[what] += 1
            if len(table) >= COSTS_PER_DOCUMENT:  # one document, endless size variables
                table.clear()
            table[key] = work()
        return table[key]


_FACTS: dict[int, tuple[weakref.ref[DocumentNode], DocumentFacts]] = {}


def facts_of(document: DocumentNode) -> DocumentFacts:
    key = id(document)
    entry = _FACTS.get(key)
    if entry is not None and entry[0]() is document:
        return entry[1]

    def forget(ref: weakref.ref[DocumentNode]) -> None:
        if _FACTS.get(key, (None,))[0] is ref:
            del _FACTS[key]

    facts = DocumentFacts()
    _FACTS[key] = (weakref.ref(document, forget), facts)
    return facts


def _too_long_text(path: str, limits: Limits) -> GraphQLError:
    return refusal(
        "TEXT_TOO_LONG",
        f"Văn bản dài quá {grouped(limits.max_text_chars)} ký tự ({path}).",
        maxChars=limits.max_text_chars,
    )


# Control characters refused in any text of a request: NUL, ESC, BEL and the like, C0 and C1.
# Tab, line feed and carriage return are text's own; vertical tab and form feed (Word's soft line
# break, a page break pasted from a PDF) are whitespace every cleaning turns into a space.
_REFUSED = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f]")


def _controlled(text: str) -> bool:
    """Whether the text holds a control character refused here. Most text is printable, and
    says so at C speed."""
    return not text.isprintable() and _REFUSED.search(text) is not None


def _control_in_text(path: str) -> GraphQLError:
    # No text the product stores or looks up may hold NUL (PostgreSQL's text cannot), nor the
    # other control characters (an ESC in a revocation's reason would reach a terminal or a
    # certificate): refused here once, for every argument, not at each place that keeps text.
    return refusal("INVALID_INPUT", f"Văn bản {path} chứa ký tự điều khiển (NUL, ESC...).")


def _too_long_list(path: str, most: int) -> GraphQLError:
    return refusal(
        "LIST_TOO_LONG", f"Danh sách dài quá {grouped(most)} phần tử ({path}).", maxItems=most
    )


# Where a value is in a variable: the variable's name, or (the place it is in, a list index or
# a field name). Spelt out only for a refusal: a bulk list's 50,000 values spelt each time
# were a tenth of its request.
Place = str | tuple[Any, int | str]


SPELT_CHARS = 200  # a place 900 lists deep is named by its start


def spelt(place: Place) -> str:
    """``$nominees[3].summary`` of ((("$nominees"), 3), "summary")."""
    steps = []
    while isinstance(place, tuple):
        place, step = place
        steps.append(f"[{step}]" if isinstance(step, int) else f".{step}")
    whole = place + "".join(reversed(steps))
    return whole if len(whole) <= SPELT_CHARS else whole[: SPELT_CHARS - 1] + "…"


def _walk(value: Any, kind: Any, path: str) -> Iterator[tuple[str, Any, Any, Place, bool]]:
    """Every (what, value, type, place, in a bulk row) in a variable's value, shaped by its
    declared type; what does not fit the type is left to GraphQL's own coercion, which refuses
    it."""
    stack: list[tuple[Any, Any, Place, bool]] = [(value, kind, path, False)]
    while stack:
        value, kind, place, bulk = stack.pop()
        if isinstance(kind, GraphQLNonNull):
            kind = kind.of_type
        if isinstance(value, str):
            yield "text", value, kind, place, bulk
        elif isinstance(value, list):
            yield "list", value, kind, place, bulk
            item = kind.of_type if isinstance(kind, GraphQLList) else None
            stack.extend((v, item, (place, i), bulk) for i, v in enumerate(value))
        elif isinstance(value, dict) and isinstance(kind, GraphQLInputObjectType):
            fields, row = kind.fields, bulk or kind.name in BULK_ITEMS
            for key, inner in value.items():
                if key in fields:
                    stack.append((inner, fields[key].type, (place, key), row))


def _variable_values(
    schema: GraphQLSchema, document: DocumentNode, operation_name: str | None, variables: Any
) -> Iterator[tuple[str, Any, Any, Place, bool]]:
    operation = get_operation_ast(document, operation_name)
    if operation is None or not isinstance(variables, dict):
        return
    for definition in operation.variable_definitions or ():
        name = definition.variable.name.value
        if name in variables:
            kind = type_from_ast(schema, definition.type)
            yield from _walk(variables[name], kind, f"${name}")


def list_limit(kind: Any, limits: Limits) -> int:
    item = get_named_type(kind) if kind is not None else None
    bulk = item is not None and item.name in BULK_ITEMS
    return limits.max_bulk_rows if bulk else limits.max_list_items


def check_variables(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    variables: Any,
    limits: Limits,
) -> GraphQLError | None:
    for what, value, kind, place, bulk in _variable_values(
        schema, document, operation_name, variables
    ):
        if what == "text":
            if len(value) > limits.max_text_chars:
                return _too_long_text(spelt(place), limits)
            # A bulk row's text is the domain's to check, row by row: one bad row is named, and
            # the others are kept. NUL, which no statement can carry, is refused here for all.
            if ("\x00" in value) if bulk else _controlled(value):
                return _control_in_text(spelt(place))
        elif len(value) > list_limit(kind, limits):
            return _too_long_list(spelt(place), list_limit(kind, limits))
    return None


def check_document(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    variables: Any,
    limits: Limits,
) -> GraphQLError | None:
    """The first limit a valid document breaks with these variables, or None."""
    facts = facts_of(document)
    seen = literals_of(document)
    if seen.longest_text > limits.max_text_chars:
        return _too_long_text("trong câu truy vấn", limits)
    if seen.has_control:
        return _control_in_text("trong câu truy vấn")
    if seen.longest_list > limits.max_list_items:
        return _too_long_list("trong câu truy vấn", limits.max_list_items)
    refused = check_variables(schema, document, operation_name, variables, limits)
    if refused is not None:
        return refused
    sizes = _size_variables(variables if isinstance(variables, dict) else None)
    cost = facts.known(
        "cost",
        facts.costs,
        (schema, operation_name, sizes),
        lambda: operation_cost(schema, document, operation_name, sizes),
    )
    if cost > limits.max_cost:
        return refusal(
            "QUERY_TOO_COSTLY",
            f"Câu truy vấn quá nặng (ước tính {grouped(cost)}, tối đa {grouped(limits.max_cost)}): "
            "hãy chia nhỏ, hoặc giảm first/limit.",
            cost=cost,
            maxCost=limits.max_cost,
        )
    return None


class CheckedRequest(SchemaExtension):
    """Validation (cached across requests, as strawberry's ValidationCache does) followed by the
    limits above; either refusal stops the request before execution."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        schema, document = context.schema._schema, context.graphql_document
        rules, hide = tuple(context.validation_rules), not self.limits.suggestions
        facts = facts_of(document)
        too_long = check_numbers(document)
        errors = (
            [too_long]
            if too_long is not None
            else facts.known(
                "validation",
                facts.validations,
                (schema, rules, hide),
                lambda: validated(schema, document, rules, hide),
            )
        )
        if not errors:
            refused = check_document(
                context.schema._schema,
                context.graphql_document,
                context.operation_name,
                context.variables,
                self.limits,
            )
            errors = [refused] if refused is not None else []
        context.pre_execution_errors = list(errors)
        yield

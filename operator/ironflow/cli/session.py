"""Options every command shares, and the cluster connection made only when a command needs it.

`--kubeconfig`, `--context` and `-o` are accepted both before and after the subcommand (the
way kubectl's global flags are), and the connection is lazy so that offline commands
(`keygen`, `secret seal --public-key`) never read a kubeconfig or contact a cluster.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ParamSpec, TypeVar

import click

from ironflow.cli.errors import unknown_environment
from ironflow.cli.kubecontext import NoContextNamespace, context_namespace
from ironflow.cli.output import FORMATS
from ironflow.cli.served import did_you_mean, namespace_names
from ironflow.core.names import validate_namespace
from ironflow.k8s.config import choose_cluster
from ironflow.k8s.sync_client import connect
from ironflow.k8s.sync_resources import IronflowApi

P = ParamSpec("P")
R = TypeVar("R")
ENV_VAR = "IRONFLOW_ENV"
DEFAULT_RESOURCE = "app"


@dataclass
class Session:
    kubeconfig: str | None = None
    context: str | None = None
    output: str = "text"
    _api: IronflowApi | None = field(default=None, repr=False)
    _known: set[str] = field(default_factory=set, repr=False)

    def api(self) -> IronflowApi:
        if self._api is None:
            choice = choose_cluster(self.kubeconfig, self.context, allow_default_file=True)
            self._api = IronflowApi(connect(choice))
        return self._api

    def environment(self, namespace: str) -> IronflowApi:
        """The API, once `namespace` is known to exist: listing a missing namespace returns nothing,
        which would read as "no secrets" instead of "wrong environment"."""
        validate_namespace(namespace)
        api = self.api()
        if namespace not in self._known:
            if api.namespace_exists(namespace) is False:
                hint = did_you_mean(namespace, namespace_names(api))
                raise unknown_environment(namespace, api.client.where, hint)
            self._known.add(namespace)
        return api

    def close(self) -> None:
        if self._api is not None:
            self._api.client.close()


def _remember(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    """Store a shared option on the root context; a later (subcommand-level) value wins."""
    if value is not None:
        root = ctx.find_root()
        root.meta[f"ironflow.{param.name}"] = value
    return value


def shared_options(func: Callable[P, R]) -> Callable[P, R]:
    options = [
        click.option(
            "--kubeconfig",
            metavar="PATH",
            expose_value=False,
            is_eager=True,  # read before --env's default, which may come from the kubeconfig
            callback=_remember,
            help="kubeconfig file (default: $KUBECONFIG, then ~/.kube/config).",
        ),
        click.option(
            "--context",
            metavar="NAME",
            expose_value=False,
            is_eager=True,
            callback=_remember,
            help="kubeconfig context (default: the current context).",
        ),
        click.option(
            "-o",
            "--output",
            type=click.Choice(FORMATS),
            expose_value=False,
            callback=_remember,
            help="output format: text for people (default), json or yaml for scripts.",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _default_env(ctx: click.Context, param: click.Parameter, value: str | None) -> str:
    """--env/-n, else $IRONFLOW_ENV (click's envvar), else the kubeconfig context's namespace."""
    if value:
        return value
    root = ctx.find_root()
    try:
        return context_namespace(root.meta.get("ironflow.kubeconfig"), root.meta.get("ironflow.context"))
    except NoContextNamespace as exc:
        if ctx.params.get("filename"):
            return ""  # `seal -f`: the manifest's own namespace may do; it says so if not
        raise click.UsageError(
            f"no environment given: pass --env/-n NS or set ${ENV_VAR}; the kubeconfig context's namespace, "
            f"used otherwise, is not available ({exc})",
            ctx,
        ) from None


def environment_option(
    help: str, *, envvar: bool = True, context_default: bool = False, required: bool = False
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """The one declaration of `-e/--env/-n/--namespace` (kubectl's -n, the contract's --env).

    Commands differ only in what an absent option means: `envvar` reads $IRONFLOW_ENV,
    `context_default` falls back to the kubeconfig context's namespace (an error when it has none)."""
    return click.option(
        "-e",
        "--env",
        "-n",
        "--namespace",
        "env",
        default=None,
        required=required,
        envvar=ENV_VAR if envvar else None,
        metavar="NS",
        callback=_default_env if context_default else None,
        help=help,
    )


env_option = environment_option(
    f"environment = namespace (or ${ENV_VAR}; default: the kubeconfig context's namespace).",
    context_default=True,
)


def resource_option(func: Callable[P, R]) -> Callable[P, R]:
    return click.option(
        "-r",
        "--resource",
        default=None,
        metavar="NAME",
        help="which resource holds the name "
        f"(default: the one that already defines it, else {DEFAULT_RESOURCE}).",
    )(func)


def session(ctx: click.Context) -> Session:
    root = ctx.find_root()
    existing = root.meta.get("ironflow.session")
    if isinstance(existing, Session):
        return existing
    made = Session(
        kubeconfig=root.meta.get("ironflow.kubeconfig"),
        context=root.meta.get("ironflow.context"),
        output=root.meta.get("ironflow.output") or "text",
    )
    root.meta["ironflow.session"] = made
    root.call_on_close(made.close)
    return made


def pass_session(func: Callable[..., R]) -> Callable[..., R]:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> R:
        return func(session(click.get_current_context()), *args, **kwargs)

    return wrapper

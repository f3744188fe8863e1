"""The Worker's switchboard: build the services from `self.env`, hand them the request, batch or cron."""

from workers import WorkerEntrypoint

from services import adapters
from services.api import Api
from services.app import Platform, Services
from services.config import Settings
from services.log import log_event
from services.query import Priority
from services.ratelimits import BINDINGS as RATE_LIMIT_BINDINGS

DEAD_LETTER_SUFFIX = "-dlq"


class Default(WorkerEntrypoint):
    def services(self) -> Services:
        env = self.env
        platform = Platform(
            db=adapters.D1Database(env.DB),
            store=adapters.R2ObjectStore(env.TIMESERIES_CACHE),
            queues={Priority.NORMAL: adapters.WorkerQueue(env.JOBS_QUEUE),
                    Priority.HIGH: adapters.WorkerQueue(env.JOBS_QUEUE_HIGH)},
            transport=adapters.FetchTransport(),
            defer=lambda awaitable: adapters.wait_until(self.ctx, awaitable),
            limiters={name: adapters.WorkerRateLimiter(getattr(env, name))
                      for name in RATE_LIMIT_BINDINGS if hasattr(env, name)},
            warming_token=getattr(env, "WARMING_TOKEN", "") or None,
        )
        return Services(Settings.from_env(adapters.env_vars(env, Settings.var_names())), platform)

    async def fetch(self, request):
        with adapters.api_request(request) as incoming:
            response = await Api(self.services()).handle(incoming)
        return adapters.js_response(response)

    # workerd calls every handler but fetch strictly, with (event, env, ctx); for a WorkerEntrypoint
    # env and ctx arrive as None (they are self.env and self.ctx), yet a shorter signature is a TypeError.
    async def queue(self, batch, env, ctx):
        messages = [adapters.WorkerMessage(message) for message in batch.messages]
        consumer = self.services().consumer()
        if batch.queue.endswith(DEAD_LETTER_SUFFIX):
            await consumer.consume_dead_letters(messages)
        else:
            await consumer.consume(batch.queue, messages)

    async def scheduled(self, controller, env, ctx):
        services = self.services()
        report = {**await services.maintenance().run(), **await services.warming().run()}
        log_event("cron", cron=getattr(controller, "cron", None), **report)

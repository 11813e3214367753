"""The baseline loop, run as its own process: consume a batch, produce each record on to another
topic with acks=all, wait for the acknowledgements, commit. Nothing else: Kafka's and aiokafka's pace.

Usage: python passthrough_loop.py BOOTSTRAP GROUP IN_TOPIC OUT_TOPIC
"""

from __future__ import annotations

import asyncio
import sys

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer


async def main(bootstrap: str, group: str, source: str, target: str) -> None:
    consumer = AIOKafkaConsumer(
        source,
        bootstrap_servers=bootstrap,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=5)
    await consumer.start()
    await producer.start()
    try:
        while True:
            batches = await consumer.getmany(timeout_ms=50, max_records=500)
            sent = [
                await producer.send(target, record.value, key=record.key, headers=list(record.headers))
                for records in batches.values()
                for record in records
            ]
            if sent:
                await asyncio.gather(*sent)
                await consumer.commit()
    finally:
        await producer.stop()
        await consumer.stop()


if __name__ == "__main__":
    # The event loop the services run on (uvicorn picks uvloop), so the ratio compares like with like.
    import uvloop

    uvloop.run(main(*sys.argv[1:5]))

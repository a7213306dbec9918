"""Measures this machine's loopback TCP bandwidth (one connection, 1 GiB in 4 MiB writes,
reader in another process), for context next to the cluster's transfer rates."""
import multiprocessing
import socket
import time

TOTAL = 1 << 30
BLOCK = 4 << 20


def reader(port, ready):
    server = socket.socket()
    server.bind(("127.0.0.1", port))
    server.listen(1)
    ready.set()
    connection, _ = server.accept()
    buffer = bytearray(BLOCK)
    view = memoryview(buffer)
    received = 0
    while received < TOTAL:
        count = connection.recv_into(view)
        if count == 0:
            break
        received += count
    connection.sendall(b"k")
    connection.close()


def main():
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    ready = multiprocessing.Event()
    process = multiprocessing.Process(target=reader, args=(port, ready))
    process.start()
    ready.wait()
    client = socket.create_connection(("127.0.0.1", port))
    client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    block = b"\x01" * BLOCK
    start = time.perf_counter()
    for _ in range(TOTAL // BLOCK):
        client.sendall(block)
    client.recv(1)
    seconds = time.perf_counter() - start
    client.close()
    process.join()
    print(f"# loopback TCP bandwidth: {TOTAL / seconds / (1 << 30):.2f} GiB/s (one connection, 4 MiB writes)")


if __name__ == "__main__":
    main()

import socket

import pytest

from tests.support.network import NetworkBlocked


def test_outside_address_is_refused() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock, pytest.raises(NetworkBlocked):
        sock.connect(("93.184.216.34", 80))


def test_outside_name_is_not_even_resolved() -> None:
    with pytest.raises(NetworkBlocked):
        socket.getaddrinfo("m.weibo.cn", 443)


def test_loopback_is_allowed() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        with socket.create_connection(server.getsockname(), timeout=2):
            pass

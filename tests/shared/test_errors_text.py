"""A domain error's message quotes what the client sent without its control characters."""

from shared.errors import NotFound


def test_a_message_never_carries_a_control_character_the_client_sent():
    error = NotFound("nb-cs\x1b[2J\x07\x9b1\x00")
    assert error.message == "Không tìm thấy. nb-cs[2J1"
    assert error.detail == "nb-cs\x1b[2J\x07\x9b1\x00"  # the log keeps what came

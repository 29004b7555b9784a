"""Socket.IO namespace /notify: a signed-in user's browser joins its own room `user:<id>`."""

from flask_login import current_user
from flask_socketio import ConnectionRefusedError, Namespace, emit, join_room

from lms.notifications import services


class NotifyNamespace(Namespace):
    def on_connect(self, auth=None):
        user = current_user
        from lms.accounts.services import fully_signed_in

        if not fully_signed_in(user):
            raise ConnectionRefusedError("unauthorized")
        join_room(services.room(user.id))
        emit("unread", {"unread": services.unread_count(user)})

    def on_disconnect(self, reason=None):
        pass


def init_socketio(socketio) -> None:
    socketio.on_namespace(NotifyNamespace(services.NAMESPACE))

//! A signaling client over a real WebSocket (tokio-tungstenite), for tests.

use app::protocol::{
    ClientMessage, Delivery, ErrorCode, MediaState, PeerId, PeerInfo, ServerMessage,
    PROTOCOL_VERSION,
};
use app::room_code::RoomCode;
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long a test waits for a message it expects.
const PATIENCE: Duration = Duration::from_secs(5);

pub struct Client {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

/// What a welcome told the client.
pub struct Welcome {
    pub you: PeerId,
    pub peers: Vec<PeerInfo>,
    pub ice_servers: Vec<app::protocol::IceServer>,
    pub ice_transport_policy: app::protocol::IceTransportPolicy,
    pub token: String,
    /// The meeting's chat so far (the history that follows the welcome).
    pub chat: Vec<app::protocol::ChatMessage>,
    pub role: app::protocol::Role,
    pub settings: app::protocol::MeetingSettings,
    pub waiting: Vec<app::protocol::Knock>,
    pub transport: app::protocol::Transport,
}

impl Client {
    pub async fn connect(url: &str) -> Self {
        Self::try_connect(url, None)
            .await
            .expect("websocket connects")
    }

    /// Connects, optionally as a page from `origin`; the error is the HTTP refusal.
    pub async fn try_connect(
        url: &str,
        origin: Option<&str>,
    ) -> Result<Self, tokio_tungstenite::tungstenite::Error> {
        match origin {
            Some(origin) => Self::try_connect_with(url, &[("origin", origin)]).await,
            None => Self::try_connect_with(url, &[]).await,
        }
    }

    /// Connects with extra request headers; the error is the HTTP refusal.
    pub async fn try_connect_with(
        url: &str,
        headers: &[(&'static str, &str)],
    ) -> Result<Self, tokio_tungstenite::tungstenite::Error> {
        let mut request = url.into_client_request().unwrap();
        for (name, value) in headers {
            request.headers_mut().append(*name, value.parse().unwrap());
        }
        let (ws, _) = tokio_tungstenite::connect_async(request).await?;
        Ok(Self { ws })
    }

    pub async fn send(&mut self, message: &ClientMessage) {
        self.send_text(&serde_json::to_string(message).unwrap())
            .await;
    }

    pub async fn send_json(&mut self, value: Value) {
        self.send_text(&value.to_string()).await;
    }

    pub async fn send_text(&mut self, text: &str) {
        self.ws
            .send(Message::Text(text.into()))
            .await
            .expect("send a frame");
    }

    /// Sends a frame the server may cut off halfway; a failed send is fine.
    pub async fn try_send_text(&mut self, text: &str) {
        let _ = self.ws.send(Message::Text(text.into())).await;
    }

    pub async fn send_raw(&mut self, message: Message) {
        self.ws.send(message).await.expect("send a frame");
    }

    /// The next signaling message, failing the test after a few seconds.
    pub async fn recv(&mut self) -> ServerMessage {
        self.recv_numbered().await.message
    }

    /// The next signaling message with its number, failing the test after a few seconds.
    pub async fn recv_numbered(&mut self) -> Delivery {
        tokio::time::timeout(PATIENCE, self.next_delivery())
            .await
            .expect("a message within 5 s")
            .expect("a message, not the end of the connection")
    }

    /// The next signaling message, or `None` when the connection ends.
    async fn next_message(&mut self) -> Option<ServerMessage> {
        self.next_delivery().await.map(|d| d.message)
    }

    async fn next_delivery(&mut self) -> Option<Delivery> {
        loop {
            match self.ws.next().await? {
                Ok(Message::Text(text)) => {
                    return Some(Delivery::from_json(text.as_str()).expect("valid server JSON"))
                }
                Ok(Message::Close(_)) | Err(_) => return None,
                Ok(_) => continue,
            }
        }
    }

    /// The next frame, read without acknowledging it: `Ok` for a message, `Err` with
    /// the close code when the server closes, `None` when the connection just ends.
    pub async fn next_frame(&mut self) -> Option<Result<(), Option<CloseCode>>> {
        loop {
            match self.ws.next().await? {
                Ok(Message::Text(_)) => return Some(Ok(())),
                Ok(Message::Close(frame)) => return Some(Err(frame.map(|f| f.code))),
                Ok(_) => continue,
                Err(_) => return None,
            }
        }
    }

    /// The next signaling message if one comes within `wait`.
    pub async fn try_recv(&mut self, wait: Duration) -> Option<ServerMessage> {
        tokio::time::timeout(wait, self.next_message())
            .await
            .ok()
            .flatten()
    }

    /// Fails if a signaling message arrives within `wait`.
    pub async fn expect_silence(&mut self, wait: Duration) {
        if let Ok(Some(message)) = tokio::time::timeout(wait, self.next_message()).await {
            panic!("expected nothing, got {message:?}");
        }
    }

    /// Expects an error with this code and returns its message.
    pub async fn expect_error(&mut self, code: ErrorCode) -> String {
        match self.recv().await {
            ServerMessage::Error { code: got, message } if got == code => message,
            other => panic!("expected error {code:?}, got {other:?}"),
        }
    }

    /// Reads until the server closes, returning the close code.
    pub async fn expect_close(&mut self) -> Option<CloseCode> {
        let read = async {
            loop {
                match self.ws.next().await {
                    Some(Ok(Message::Close(frame))) => return frame.map(|f| f.code),
                    Some(Ok(_)) => continue,
                    Some(Err(_)) | None => return None,
                }
            }
        };
        tokio::time::timeout(PATIENCE, read)
            .await
            .expect("the server closes within 5 s")
    }

    pub async fn join(&mut self, room: &RoomCode, name: &str) -> Welcome {
        self.send_join(room, name).await;
        self.expect_welcome(room).await
    }

    pub async fn send_join(&mut self, room: &RoomCode, name: &str) {
        self.send(&ClientMessage::Join {
            version: PROTOCOL_VERSION,
            room: room.clone(),
            name: name.into(),
            media: MediaState::default(),
        })
        .await;
    }

    /// Joins a meeting where one must ask first: returns the id the server gave the
    /// knock (the id once admitted).
    pub async fn knock(&mut self, room: &RoomCode, name: &str) -> PeerId {
        self.send_join(room, name).await;
        match self.recv().await {
            ServerMessage::Waiting { id } => id,
            other => panic!("expected to wait, got {other:?}"),
        }
    }

    /// Reads a welcome (and the chat history after it).
    pub async fn expect_welcome(&mut self, room: &RoomCode) -> Welcome {
        match self.recv().await {
            ServerMessage::Welcome {
                you,
                peers,
                ice_servers,
                ice_transport_policy,
                room: welcomed,
                version,
                token,
                role,
                settings,
                waiting,
                transport,
                ..
            } => {
                assert_eq!(&welcomed, room);
                assert_eq!(version, PROTOCOL_VERSION);
                let chat = self.expect_chat_history().await;
                Welcome {
                    you,
                    peers,
                    ice_servers,
                    ice_transport_policy,
                    token,
                    chat,
                    role,
                    settings,
                    waiting,
                    transport,
                }
            }
            other => panic!("expected a welcome, got {other:?}"),
        }
    }

    /// The chat history that follows a welcome (or a resume that missed messages).
    pub async fn expect_chat_history(&mut self) -> Vec<app::protocol::ChatMessage> {
        match self.recv_numbered().await {
            Delivery {
                seq: None,
                message: ServerMessage::ChatHistory { messages },
            } => messages,
            other => panic!("expected the chat history, got {other:?}"),
        }
    }

    /// Sends a resume and returns the server's answer (reading past the chat history
    /// that follows a resume that missed messages).
    pub async fn resume(
        &mut self,
        room: &RoomCode,
        token: &str,
        last_seen: u64,
        name: &str,
    ) -> ServerMessage {
        self.send(&ClientMessage::Resume {
            version: PROTOCOL_VERSION,
            room: room.clone(),
            token: token.into(),
            last_seen,
            name: name.into(),
            media: MediaState::default(),
            transport: Default::default(),
        })
        .await;
        let answer = self.recv().await;
        if let ServerMessage::Resumed {
            complete: false, ..
        } = answer
        {
            self.expect_chat_history().await;
        }
        answer
    }

    /// Gives the raw stream to a test that wants to stop reading it.
    pub fn into_inner(self) -> WebSocketStream<MaybeTlsStream<TcpStream>> {
        self.ws
    }
}

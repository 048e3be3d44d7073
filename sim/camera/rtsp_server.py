#!/usr/bin/python3
"""The simulated camera's RTSP stream: a real GStreamer RTSP server (Debian's
gir1.2-gst-rtsp-server-1.0), fed JPEG scenes by the Node simulator.

Run by /usr/bin/python3 (the interpreter that has the GObject bindings). Control is line-based
on stdin so the simulator decides what the camera shows and when:

    scene PATH[<TAB>PATH...]   show these pictures from now on, in turn at the stream's rate
                               (JPEGs already at the stream size; one for a still scene)
    stall                      stop sending frames (the connection stays open: a stalled encoder)
    resume                     send frames again
    quit                       stop the server

Every frame carries a real timestamp (the clock of the pipeline), so clients' fps filters behave.
Prints "ready <port>" on stdout once it listens, and "error <text>" on failure.
"""
import argparse
import sys
import threading

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402


class SceneState:
    def __init__(self, paths):
        self.lock = threading.Lock()
        self.jpegs = [read(p) for p in paths]
        self.index = 0
        self.stalled = False

    def set_scene(self, paths):
        data = [read(p) for p in paths]
        with self.lock:
            self.jpegs = data
            self.index = 0

    def current(self):
        with self.lock:
            if self.stalled:
                return None
            jpeg = self.jpegs[self.index % len(self.jpegs)]
            self.index += 1
            return jpeg


def read(path):
    with open(path, "rb") as f:
        return f.read()


class SceneFactory(GstRtspServer.RTSPMediaFactory):
    def __init__(self, state, fps, codec, bitrate):
        super().__init__()
        self.state = state
        self.fps = fps
        self.duration = Gst.SECOND // fps
        if codec == "mjpeg":
            # RTP/JPEG (RFC 2435) carries baseline 4:2:0 only: re-encode whatever picture we were given.
            encode = "jpegdec ! videoconvert ! video/x-raw,format=I420 ! jpegenc quality=85 ! rtpjpegpay name=pay0 pt=26"
        else:
            encode = (
                "jpegdec ! videoconvert ! video/x-raw,format=I420 ! "
                f"x264enc tune=zerolatency speed-preset=ultrafast bitrate={bitrate} key-int-max={fps * 2} ! "
                "video/x-h264,profile=baseline ! rtph264pay name=pay0 pt=96 config-interval=1"
            )
        self.launch = (
            f"( appsrc name=src is-live=true do-timestamp=true format=time "
            f"caps=image/jpeg,framerate={fps}/1 ! {encode} )"
        )
        self.set_shared(True)

    def do_create_element(self, url):
        return Gst.parse_launch(self.launch)

    def do_configure(self, media):
        appsrc = media.get_element().get_child_by_name("src")
        timer = {"id": None}

        def push():
            jpeg = self.state.current()
            if jpeg is not None:
                buf = Gst.Buffer.new_wrapped(jpeg)
                buf.duration = self.duration
                if appsrc.emit("push-buffer", buf) != Gst.FlowReturn.OK:
                    return False
            return True

        timer["id"] = GLib.timeout_add(1000 // self.fps, push)

        def stop(_media):
            if timer["id"] is not None:
                GLib.source_remove(timer["id"])
                timer["id"] = None

        media.connect("unprepared", stop)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--path", default="/stream")
    p.add_argument("--fps", type=int, default=10)
    p.add_argument("--codec", choices=["h264", "mjpeg"], default="h264")
    p.add_argument("--bitrate", type=int, default=1024, help="kbit/s for H.264")
    p.add_argument("--scene", required=True, help="the first scene's pictures (JPEG files, tab-separated)")
    args = p.parse_args()

    Gst.init(None)
    state = SceneState(args.scene.split("\t"))
    server = GstRtspServer.RTSPServer()
    server.set_address(args.host)
    server.set_service(str(args.port))
    server.get_mount_points().add_factory(args.path, SceneFactory(state, args.fps, args.codec, args.bitrate))
    loop = GLib.MainLoop()
    if server.attach(None) == 0:
        print(f"error cannot listen on {args.host}:{args.port}", flush=True)
        sys.exit(1)
    print(f"ready {server.get_bound_port()}", flush=True)

    def control():
        for line in sys.stdin:
            cmd, _, arg = line.strip().partition(" ")
            try:
                if cmd == "scene":
                    state.set_scene(arg.split("\t"))
                elif cmd == "stall":
                    state.stalled = True
                elif cmd == "resume":
                    state.stalled = False
                elif cmd == "quit":
                    break
            except OSError as e:
                print(f"error {e}", flush=True)
        GLib.idle_add(loop.quit)

    threading.Thread(target=control, daemon=True).start()
    loop.run()


if __name__ == "__main__":
    main()

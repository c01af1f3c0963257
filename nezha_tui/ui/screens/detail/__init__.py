"""The panels of the server detail (:mod:`nezha_tui.ui.screens.server_detail`), one module each.

- :mod:`.rows` - label/value rows and their wrapping, shared by the text panels;
- :mod:`.facts` - what the server is (name, status, platform, hardware, boot);
- :mod:`.note` - billing and plan of the public_note;
- :mod:`.live` - the live values of the last frame;
- :mod:`.realtime` - the plots of the recent frames;
- :mod:`.history` - metric history (``GET /api/v1/server/{id}/metrics``);
- :mod:`.monitors` - the server's service monitors (``GET /api/v1/server/{id}/service``).
"""

"""Small widgets and drawing helpers shared by the GUI: icons, stars, colour labels, tag chips."""
